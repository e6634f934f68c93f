import Foundation

/// Walks the value tree of a checkpoint's `data.pkl` (``TorchCheckpoint``): descends dicts,
/// rebuilds tensors from their storage records, reads Python and numpy scalars as data
/// (``NumpyPickle``), lists everything else as skipped.
struct TorchTreeWalker {
    let zip: ZipArchive
    let prefix: String
    let fail: (TorchProblem, String) -> ConvertError
    var tensors: [TorchTensor] = []
    var skipped: [TorchSkipped] = []
    var scalars: [TorchScalar] = []
    /// Storage records already read, by key, with their dtype and numel.
    var storages: [String: (dtype: TorchDType, numel: Int, bytes: [UInt8])] = [:]

    init(zip: ZipArchive, prefix: String, fail: @escaping (TorchProblem, String) -> ConvertError) {
        self.zip = zip
        self.prefix = prefix
        self.fail = fail
    }

    mutating func walk(_ value: PickleValue, path: [String]) throws {
        let name = path.joined(separator: ".")
        if let entries = Self.dictEntries(value) {
            var keys: [String] = []
            for e in entries {
                guard case let .string(k) = e.key else {
                    skipped.append(TorchSkipped(path: name, kind: "dict with a non-string key"))
                    return
                }
                keys.append(k)
            }
            for (k, e) in Swift.zip(keys, entries) { try walk(e.value, path: path + [k]) }
            return
        }
        if case let .reduce(callable, args) = value, let g = callable.globalName, Self.tensorCalls.contains(g) {
            tensors.append(try tensor(args, parameter: g != "torch._utils._rebuild_tensor_v2", path: name))
            return
        }
        // A list of numbers (upstream's `xeps`/`veps`: 0-d numpy arrays) becomes scalars `name.i`.
        if case let .list(items) = value, !items.isEmpty, let numbers = Self.numbers(items) {
            for (i, n) in numbers.enumerated() { scalars.append(TorchScalar(path: "\(name).\(i)", value: n.0, kind: n.1)) }
            return
        }
        switch value {
        case let .int(n): scalars.append(TorchScalar(path: name, value: .int(n), kind: "int"))
        case let .float(d): scalars.append(TorchScalar(path: name, value: .float(d), kind: "float"))
        case let .bool(b): scalars.append(TorchScalar(path: name, value: .bool(b), kind: "bool"))
        case let .string(s): scalars.append(TorchScalar(path: name, value: .string(s), kind: "str"))
        default:
            switch NumpyPickle.scalar(value) {
            case let .decoded(v, kind)?: scalars.append(TorchScalar(path: name, value: v, kind: kind))
            case let .undecoded(why)?: skipped.append(TorchSkipped(path: name, kind: why))
            case nil:
                skipped.append(TorchSkipped(path: name, kind: NumpyPickle.isArray(value) ? "numpy array (not interpreted)" : Self.kind(value)))
            }
        }
    }

    /// Every item as a number (Python int/float, decoded numpy scalar or 0-d array), or nil.
    static func numbers(_ items: [PickleValue]) -> [(TorchScalar.Value, String)]? {
        var out: [(TorchScalar.Value, String)] = []
        for item in items {
            switch item {
            case let .int(n): out.append((.int(n), "int"))
            case let .float(d): out.append((.float(d), "float"))
            default:
                if case let .decoded(v, kind)? = NumpyPickle.scalar(item) ?? NumpyPickle.zeroDimensionalArray(item) {
                    out.append((v, kind))
                } else {
                    return nil
                }
            }
        }
        return out
    }

    static let tensorCalls: Set<String> = [
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    ]

    /// The entries of a plain dict, of an `OrderedDict()` call with items set, or of either
    /// with BUILD state (the state dict's `_metadata`, ignored); nil for anything else.
    static func dictEntries(_ value: PickleValue) -> [PickleDictEntry]? {
        switch value {
        case let .dict(entries): return entries
        case let .build(object, _): return dictEntries(object)
        case let .setItems(object, entries):
            if case let .dict(first) = object { return first + entries }
            return isOrderedDictCall(object) ? entries : nil
        case let .reduce(_, args):
            if isOrderedDictCall(value), case let .tuple(a) = args, a.isEmpty { return [] }
            return nil
        default: return nil
        }
    }

    static func isOrderedDictCall(_ v: PickleValue) -> Bool {
        if case let .reduce(c, .tuple(a)) = v { return c.globalName == "collections.OrderedDict" && a.isEmpty }
        return false
    }

    static func kind(_ v: PickleValue) -> String {
        switch v {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list, .appended: return "list"
        case .dict, .setItems: return "dict"
        case let .global(m, n): return "global \(m).\(n)"
        case let .reduce(c, _): return "call of \(c.globalName ?? "?")"
        case let .newObject(c, _): return "object of \(c.globalName ?? "?")"
        case let .build(o, _): return kind(o)
        case .persistentID: return "persistent id"
        }
    }

    mutating func tensor(_ args: PickleValue, parameter: Bool, path: String) throws -> TorchTensor {
        guard case let .tuple(a) = args else { throw fail(.structure, "\(path): the tensor's arguments are not a tuple") }
        if parameter {
            // _rebuild_parameter(data, requires_grad, hooks) or
            // _rebuild_parameter_with_state(data, requires_grad, hooks, state): the state (the
            // Parameter's Python attributes) is not interpreted.
            guard a.count == 3 || a.count == 4, case let .reduce(c, inner) = a[0], c.globalName == "torch._utils._rebuild_tensor_v2" else {
                throw fail(.structure, "\(path): _rebuild_parameter does not wrap a _rebuild_tensor_v2 tensor")
            }
            var t = try tensor(inner, parameter: false, path: path)
            t.isParameter = true
            return t
        }
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        guard a.count == 6 || a.count == 7, case let .persistentID(.tuple(pid)) = a[0], pid.count == 5,
              case .string("storage") = pid[0], let cls = pid[1].globalName, case let .string(key) = pid[2],
              case let .int(numel64) = pid[4], case let .int(offset64) = a[1],
              case let .tuple(sizeValues) = a[2], case let .tuple(strideValues) = a[3] else {
            throw fail(.structure, "\(path): not the (storage, offset, size, stride, requires_grad, hooks) arguments torch.save writes")
        }
        guard let dtype = TorchDType(storageClass: cls) else { throw fail(.dtype, "\(path): storage class \(cls) is not a known typed storage") }
        var size: [Int] = [], stride: [Int] = []
        for v in sizeValues { guard case let .int(n) = v else { throw fail(.structure, "\(path): a size is not an int") }; size.append(Int(n)) }
        for v in strideValues { guard case let .int(n) = v else { throw fail(.structure, "\(path): a stride is not an int") }; stride.append(Int(n)) }
        guard size.count == stride.count else { throw fail(.structure, "\(path): \(size.count) sizes but \(stride.count) strides") }
        guard numel64 >= 0, offset64 >= 0, size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
            throw fail(.bounds, "\(path): negative storage numel, offset, size or stride (offset \(offset64), size \(size), stride \(stride))")
        }
        let numel = Int(numel64), offset = Int(offset64)
        // Element count and largest storage index, with overflow checks, before allocating.
        var count = 1, last = offset
        for (n, s) in Swift.zip(size, stride) {
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            guard !o1 else { throw fail(.bounds, "\(path): size \(size) overflows the element count") }
            count = c
            if n > 0 {
                let (step, o2) = (n - 1).multipliedReportingOverflow(by: s)
                let (sum, o3) = last.addingReportingOverflow(step)
                guard !o2, !o3 else { throw fail(.bounds, "\(path): size \(size) with stride \(stride) overflows the storage index") }
                last = sum
            }
        }
        if count > 0, last >= numel {
            throw fail(.bounds, "\(path): offset \(offset), size \(size), stride \(stride) address element \(last) of storage \(key), which has \(numel)")
        }
        guard count <= TorchCheckpoint.maxTensorElements else {
            throw ConvertError.tooLarge(what: "tensor \(path)", elements: count, limit: TorchCheckpoint.maxTensorElements)
        }
        let bytes = try storage(key: key, dtype: dtype, numel: numel, path: path)
        var values: [Double]?
        if dtype.isFloatingPoint {
            var out = [Double](repeating: 0, count: count)
            var index = [Int](repeating: 0, count: size.count)
            var position = offset
            for i in 0..<count {
                out[i] = dtype.value(bytes, position)
                // Advance the row-major multi-index; position follows the strides.
                var d = size.count - 1
                while d >= 0 {
                    index[d] += 1
                    position += stride[d]
                    if index[d] < size[d] { break }
                    position -= stride[d] * index[d]
                    index[d] = 0
                    d -= 1
                }
            }
            values = out
        }
        return TorchTensor(path: path, dtype: dtype, shape: size, stride: stride, storageOffset: offset, storageKey: key, isParameter: false, values: values)
    }

    mutating func storage(key: String, dtype: TorchDType, numel: Int, path: String) throws -> [UInt8] {
        if let s = storages[key] {
            guard s.dtype == dtype, s.numel == numel else {
                throw fail(.dtype, "\(path): storage \(key) is named as \(dtype.rawValue) x \(numel) and as \(s.dtype.rawValue) x \(s.numel)")
            }
            return s.bytes
        }
        let record = prefix + "/data/" + key
        guard zip.names.contains(record) else { throw fail(.storageMissing, "\(path): storage record \(record) is missing") }
        let (expected, overflow) = numel.multipliedReportingOverflow(by: dtype.itemSize)
        let actual = try zip.size(of: record)
        guard !overflow, actual == expected else {
            throw fail(.storageSize, "\(path): storage record \(record) is \(actual) bytes; \(numel) \(dtype.rawValue) elements need \(overflow ? "more than Int.max" : String(expected))")
        }
        let bytes = try zip.read(record, limit: actual)
        storages[key] = (dtype, numel, bytes)
        return bytes
    }
}
