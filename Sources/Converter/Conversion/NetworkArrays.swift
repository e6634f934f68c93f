import ModelFormat

/// The network arrays of a source file (Keras, PyTorch, safetensors) under their canonical names, in the source's link layout.
///
/// Values are stored in the source's element type (float32 stays float32: the exact trained
/// values). A stored `coeff` of shape [1, n] becomes [n]. Sep 2020 linear layers are folded
/// into each head: with z = h W1 + b1, y = z W2 + b2 and a head k(y) = y K + b (no activation
/// between them), k = h (W1 W2 K) + ((b1 W2 + b2) K + b); the folded kernels and biases are
/// computed in float64 and stored as float64.
struct NetworkArrays {
    var arrays: [String: NDArray] = [:]
    /// Canonical name -> the source datasets it comes from.
    var sources: [String: [String]] = [:]
    /// Source location -> what was done to it.
    var notes: [String: String] = [:]

    /// Reads every mapped dataset (in its own element type: no float64 copy except for the arrays
    /// of networks that are folded) and folds the Sep 2020 linear layers. The source's
    /// `maxDatasetElements` bounds the fold's intermediate products (checked before allocating).
    static func build(source: WeightReader, mapped: [(SourceDataset, WeightRef)], structure: NetworkStructure, stateSize n: Int) throws -> NetworkArrays {
        var out = NetworkArrays()
        var doubles: [String: (values: [Double], shape: [Int], location: String)] = [:]
        var linear: [String: [Int: [String: (values: [Double], shape: [Int], location: String)]]] = [:]   // network -> layer -> variable
        let folded = Set(mapped.compactMap { (_, r) -> String? in if case .linear = r.layer { return r.networkName }; return nil })
        for (d, r) in mapped {
            var array = try source.array(d)
            var shape = d.shape
            if r.variable == "coeff", shape.count == 2, shape[0] == 1 {
                shape = [shape[1]]
                out.notes[d.location] = "reshaped [1, \(shape[0])] -> [\(shape[0])]"
                array = try NDArray(dtype: array.dtype, shape: shape, bytes: array.bytes)
            }
            if case let .linear(i) = r.layer {
                linear[r.networkName, default: [:]][i, default: [:]][r.variable] = (array.doubles(), shape, d.location)
                continue
            }
            let name = r.canonicalName
            out.sources[name] = [d.location]
            if folded.contains(r.networkName) { doubles[name] = (array.doubles(), shape, d.location) }
            out.arrays[name] = array
        }
        for (net, layers) in linear.sorted(by: { $0.key < $1.key }) {
            try out.fold(network: net, layers: layers, doubles: doubles, lastHidden: structure.hiddenUnits.last ?? 0, limit: source.maxDatasetElements)
        }
        return out
    }

    private mutating func fold(network net: String, layers: [Int: [String: (values: [Double], shape: [Int], location: String)]],
                               doubles: [String: (values: [Double], shape: [Int], location: String)], lastHidden: Int, limit: Int) throws {
        // Compose the linear layers in order: (W, c) with y = h W + c. Every product is at most
        // lastHidden x (a width the file declares): bounded before it is allocated.
        func bound(_ rows: Int, _ cols: Int, _ what: String) throws {
            let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
            guard !overflow, count <= limit else { throw ConvertError.tooLarge(what: "folding \(what) of \(net)", elements: overflow ? Int.max : count, limit: limit) }
        }
        try bound(lastHidden, lastHidden, "the linear layers")
        var width = lastHidden
        var w: [Double] = identity(width), c = [Double](repeating: 0, count: width)
        var used: [String] = []
        for (i, layer) in layers.sorted(by: { $0.key < $1.key }) {
            let name = "\(net).h_layer\(i)"
            guard let k = layer["kernel"] else { throw ConvertError.missingArray(canonical: "\(name).kernel", expectedSource: "the kernel of \(name) (its bias is present)") }
            guard let b = layer["bias"] else { throw ConvertError.missingArray(canonical: "\(name).bias", expectedSource: "the bias of \(name) (its kernel is present)") }
            guard k.shape.count == 2, k.shape[0] == width, b.shape == [k.shape[1]] else {
                throw ConvertError.shapeMismatch(source: k.location, canonical: "\(name).kernel (folded)", expected: [width, b.shape.first ?? 0], actual: k.shape,
                                                 reason: "h_layer\(i) takes the \(width) outputs of the layer before it")
            }
            let out = k.shape[1]
            try bound(lastHidden, out, "h_layer\(i)")
            w = multiply(w, rows: lastHidden, inner: width, k.values, cols: out)
            c = add(multiply(c, rows: 1, inner: width, k.values, cols: out), b.values)
            width = out
            used += [k.location, b.location]
        }
        for head in ["scale", "translation", "transformation"] {
            let kn = "\(net).\(head).kernel", bn = "\(net).\(head).bias"
            guard let k = doubles[kn] else { throw ConvertError.missingArray(canonical: kn, expectedSource: "the \(head) head of \(net) (its h_layer kernels are present)") }
            guard let b = doubles[bn] else { throw ConvertError.missingArray(canonical: bn, expectedSource: "the \(head) head bias of \(net)") }
            guard k.shape.count == 2, k.shape[0] == width else {
                throw ConvertError.shapeMismatch(source: k.location, canonical: kn, expected: [width, k.shape.last ?? 0], actual: k.shape,
                                                 reason: "the \(head) head takes the \(width) outputs of h_layer\(layers.keys.max() ?? 0)")
            }
            let cols = k.shape[1]
            try bound(lastHidden, cols, "the \(head) head")
            guard b.shape == [cols] else {
                throw ConvertError.shapeMismatch(source: b.location, canonical: bn, expected: [cols], actual: b.shape, reason: "one bias per output of the \(head) head")
            }
            arrays[kn] = try NDArray(shape: [lastHidden, cols], doubles: multiply(w, rows: lastHidden, inner: width, k.values, cols: cols))
            arrays[bn] = try NDArray(shape: [cols], doubles: add(multiply(c, rows: 1, inner: width, k.values, cols: cols), b.values))
            sources[kn] = used.filter { $0.hasSuffix("kernel") } + [k.location]
            sources[bn] = used + [b.location]
            notes[k.location] = "h_layer1/2 folded in (float64)"
            notes[b.location] = "h_layer1/2 folded in (float64)"
        }
        for location in used { notes[location] = "folded into \(net) scale, translation, transformation (no activation between)" }
    }

    private func identity(_ n: Int) -> [Double] {
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { m[i * n + i] = 1 }
        return m
    }

    /// [rows, inner] x [inner, cols], row-major, summed in index order.
    private func multiply(_ a: [Double], rows: Int, inner: Int, _ b: [Double], cols: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for i in 0..<rows {
            for k in 0..<inner {
                let aik = a[i * inner + k]
                if aik == 0 { continue }
                for j in 0..<cols { out[i * cols + j] += aik * b[k * cols + j] }
            }
        }
        return out
    }

    private func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 + $1 } }
}
