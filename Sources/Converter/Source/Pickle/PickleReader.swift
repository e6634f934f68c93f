import Foundation

/// Reads a pickle byte string of protocol 2-5 into a ``PickleValue`` tree **without executing
/// anything**: no module is imported, no callable is called, no attribute is set. GLOBAL and
/// STACK_GLOBAL are checked against ``allowlist`` (`module.name`), REDUCE/NEWOBJ/BUILD/BINPERSID
/// only make inert nodes, and every opcode outside the subset in docs/CONVERT.md is refused by
/// name and byte offset.
///
/// Contract: `read` returns a tree or throws a ``ConvertError`` with code `convert.pickle_opcode`,
/// `convert.pickle_global`, `convert.pickle_truncated`, `convert.pickle_limit` or
/// `convert.pickle_malformed`; every length is checked against the remaining input and every
/// count against ``limits`` before anything is allocated. Integers are exact (Int64), floats
/// bit-exact, strings valid UTF-8. The pickle must be exactly one value followed by STOP at the
/// last byte, with an empty stack and no open MARK.
public struct PickleReader: Sendable {
    public var allowlist: Set<String>
    public var limits: PickleLimits

    public init(allowlist: Set<String> = PickleAllowlist.stateDict, limits: PickleLimits = PickleLimits()) {
        self.allowlist = allowlist
        self.limits = limits
    }

    public func read(_ bytes: [UInt8]) throws -> PickleValue {
        var machine = PickleMachine(bytes: bytes, allowlist: allowlist, limits: limits)
        defer { machine.tearDown() }
        let root = try machine.run()
        var sizes: [ObjectIdentifier: Int] = [:]
        _ = try machine.expandedSize(root, depth: 1, sizes: &sizes)
        return try machine.materialize(root, depth: 1)
    }
}

/// The unpickling stack machine behind ``PickleReader`` (one read).
private struct PickleMachine {
    let bytes: [UInt8]
    let allowlist: Set<String>
    let limits: PickleLimits
    var pos = 0
    var opStart = 0
    var stack: [PickleNode] = []
    var marks: [Int] = []
    var memo: [Int: PickleNode] = [:]
    /// Every node that can reference others, cleared by ``tearDown()``.
    var owned: [PickleNode] = []
    var created = 0
    var emitted = 0
    var onPath: Set<ObjectIdentifier> = []

    init(bytes: [UInt8], allowlist: Set<String>, limits: PickleLimits) {
        self.bytes = bytes
        self.allowlist = allowlist
        self.limits = limits
    }

    /// Breaks every reference between nodes, so that cycles are freed and no deep chain is
    /// released recursively.
    mutating func tearDown() {
        for node in owned { node.kind = .scalar(.none) }
        owned.removeAll()
        memo.removeAll()
        stack.removeAll()
    }

    // MARK: Errors and input

    func malformed(_ reason: String) -> ConvertError { .pickleMalformed(offset: opStart, reason: reason) }
    func limit(_ what: String, _ value: Int) -> ConvertError { .pickleLimit(what: what, limit: value, offset: opStart) }

    mutating func take(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - pos else {
            throw ConvertError.pickleTruncated(offset: opStart, needed: what)
        }
        defer { pos += count }
        return bytes[pos ..< pos + count]
    }

    mutating func unsigned(_ count: Int, _ what: String) throws -> UInt64 {
        let slice = try take(count, what)
        var value: UInt64 = 0
        for (i, byte) in slice.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        return value
    }

    /// A little-endian length that must fit in the remaining input (checked before allocating).
    mutating func length(_ count: Int, _ what: String) throws -> Int {
        let raw = try unsigned(count, "the length of \(what)")
        guard raw <= UInt64(bytes.count - pos) else {
            throw ConvertError.pickleTruncated(offset: opStart, needed: "\(what) of \(raw) bytes (\(bytes.count - pos) remain)")
        }
        return Int(raw)
    }

    mutating func utf8(_ count: Int, _ what: String) throws -> String {
        let slice = try take(count, what)
        guard let text = String(bytes: slice, encoding: .utf8) else { throw malformed("\(what) is not valid UTF-8") }
        return text
    }

    /// A GLOBAL argument: text up to a newline.
    mutating func line(_ what: String) throws -> String {
        guard let end = bytes[pos...].firstIndex(of: 0x0A) else {
            throw ConvertError.pickleTruncated(offset: opStart, needed: "the newline ending \(what)")
        }
        let text = try utf8(end - pos, what)
        pos += 1
        return text
    }

    // MARK: Nodes and the stack

    mutating func make(_ kind: PickleNode.Kind, depth: Int) throws -> PickleNode {
        created += 1
        guard created <= limits.maxValues else { throw limit("values created", limits.maxValues) }
        guard depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
        let node = PickleNode(kind, depth: depth)
        if case .scalar = kind {} else { owned.append(node) }
        return node
    }

    mutating func push(_ node: PickleNode) throws {
        guard stack.count + marks.count < limits.maxStackDepth else { throw limit("stack depth (values and marks)", limits.maxStackDepth) }
        stack.append(node)
    }

    mutating func pushScalar(_ value: PickleValue) throws { try push(try make(.scalar(value), depth: 1)) }

    mutating func pop(_ opcode: String) throws -> PickleNode {
        guard stack.count > (marks.last ?? 0) else { throw malformed("\(opcode) needs a value but the stack (above the last MARK) is empty") }
        return stack.removeLast()
    }

    func top(_ opcode: String) throws -> PickleNode {
        guard stack.count > (marks.last ?? 0), let node = stack.last else { throw malformed("\(opcode) needs a value but the stack (above the last MARK) is empty") }
        return node
    }

    mutating func popMark(_ opcode: String) throws -> [PickleNode] {
        guard let mark = marks.popLast() else { throw malformed("\(opcode) without a MARK") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    static func depth(of items: [PickleNode]) -> Int { 1 + (items.map(\.depth).max() ?? 0) }

    // MARK: The machine

    mutating func run() throws -> PickleNode {
        guard bytes.count <= limits.maxInputBytes else { throw limit("input size in bytes (\(bytes.count) given)", limits.maxInputBytes) }
        guard let first = bytes.first else { throw ConvertError.pickleTruncated(offset: 0, needed: "the PROTO opcode") }
        guard first == 0x80 else { throw malformed("does not start with PROTO (only pickle protocols 2-5 are read)") }
        while true {
            opStart = pos
            guard pos < bytes.count else { throw ConvertError.pickleTruncated(offset: pos, needed: "an opcode (the pickle has no STOP)") }
            let op = bytes[pos]
            pos += 1
            let name = PickleOpcode.name(op)
            switch op {
            case 0x80:  // PROTO
                let version = try unsigned(1, "the protocol number")
                guard (2 ... 5).contains(version) else { throw malformed("protocol \(version); only 2-5 are read") }
            case 0x95:  // FRAME: framing only; the frame must lie within the input
                _ = try length(8, "a frame")
            case 0x2E:  // STOP
                guard marks.isEmpty, stack.count == 1 else { throw malformed("STOP with \(stack.count) values on the stack and \(marks.count) open MARK(s); expected exactly one value") }
                guard pos == bytes.count else { throw malformed("\(bytes.count - pos) byte(s) after STOP") }
                return stack[0]
            case 0x28:  // MARK
                guard stack.count + marks.count < limits.maxStackDepth else { throw limit("stack depth (values and marks)", limits.maxStackDepth) }
                marks.append(stack.count)
            case 0x30: _ = try pop(name)  // POP
            case 0x31: _ = try popMark(name)  // POP_MARK
            case 0x7D: try push(try make(.dict([], [:]), depth: 1))  // EMPTY_DICT
            case 0x5D: try push(try make(.list([]), depth: 1))  // EMPTY_LIST
            case 0x29: try push(try make(.tuple([]), depth: 1))  // EMPTY_TUPLE
            case 0x74:  // TUPLE
                let items = try popMark(name)
                try push(try make(.tuple(items), depth: Self.depth(of: items)))
            case 0x85, 0x86, 0x87:  // TUPLE1/2/3
                var items: [PickleNode] = []
                for _ in 0 ..< Int(op - 0x84) { items.insert(try pop(name), at: 0) }
                try push(try make(.tuple(items), depth: Self.depth(of: items)))
            case 0x61: try append([try pop(name)], name)  // APPEND
            case 0x65: try append(try popMark(name), name)  // APPENDS
            case 0x73:  // SETITEM
                let value = try pop(name)
                let key = try pop(name)
                try setItems([(key, value)], name)
            case 0x75:  // SETITEMS
                let items = try popMark(name)
                guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number (\(items.count)) of keys and values") }
                try setItems(stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }, name)
            case 0x4A: try pushScalar(.int(Int64(Int32(truncatingIfNeeded: try unsigned(4, "a BININT")))))
            case 0x4B: try pushScalar(.int(Int64(try unsigned(1, "a BININT1"))))
            case 0x4D: try pushScalar(.int(Int64(try unsigned(2, "a BININT2"))))
            case 0x8A: try pushScalar(.int(try long(Int(try unsigned(1, "the LONG1 length")))))
            case 0x8B:  // LONG4: a signed length
                let raw = Int32(truncatingIfNeeded: try unsigned(4, "the LONG4 length"))
                guard raw >= 0 else { throw malformed("LONG4 with a negative length \(raw)") }
                try pushScalar(.int(try long(Int(raw))))
            case 0x47:  // BINFLOAT: big-endian binary64
                let slice = try take(8, "a BINFLOAT")
                try pushScalar(.float(Double(bitPattern: slice.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x8C: try pushScalar(.string(try utf8(try length(1, "a string"), "a string")))
            case 0x58: try pushScalar(.string(try utf8(try length(4, "a string"), "a string")))
            case 0x8D: try pushScalar(.string(try utf8(try length(8, "a string"), "a string")))
            case 0x43: try pushScalar(.bytes(Array(try take(try length(1, "bytes"), "bytes"))))
            case 0x42: try pushScalar(.bytes(Array(try take(try length(4, "bytes"), "bytes"))))
            case 0x8E: try pushScalar(.bytes(Array(try take(try length(8, "bytes"), "bytes"))))
            case 0x4E: try pushScalar(.none)
            case 0x88: try pushScalar(.bool(true))
            case 0x89: try pushScalar(.bool(false))
            case 0x68: try memoGet(Int(try unsigned(1, "a memo index")))  // BINGET
            case 0x6A: try memoGet(Int(try unsigned(4, "a memo index")))  // LONG_BINGET
            case 0x71: try memoPut(Int(try unsigned(1, "a memo index")), name)  // BINPUT
            case 0x72: try memoPut(Int(try unsigned(4, "a memo index")), name)  // LONG_BINPUT
            case 0x94: try memoPut(memo.count, name)  // MEMOIZE
            case 0x63:  // GLOBAL
                let module = try line("the module name")
                let attribute = try line("the global name")
                try pushGlobal(module, attribute)
            case 0x93:  // STACK_GLOBAL
                let attribute = try pop(name)
                let module = try pop(name)
                guard case let .scalar(.string(m)) = module.kind, case let .scalar(.string(a)) = attribute.kind else {
                    throw malformed("STACK_GLOBAL needs two strings (module, name)")
                }
                try pushGlobal(m, a)
            case 0x52, 0x81:  // REDUCE, NEWOBJ
                let args = try pop(name)
                let callable = try pop(name)
                guard callable.isGlobal else { throw malformed("\(name) on something that is not an allowed global") }
                guard args.isTuple else { throw malformed("\(name) with arguments that are not a tuple") }
                let depth = 1 + max(callable.depth, args.depth)
                try push(try make(op == 0x52 ? .reduce(callable: callable, args: args) : .newObject(cls: callable, args: args), depth: depth))
            case 0x62:  // BUILD: wraps the object in place, so memo references see the state too
                let state = try pop(name)
                let object = try top(name)
                switch object.kind {
                case .reduce, .newObject, .build, .setItems, .appended: break
                default: throw malformed("BUILD on a value that is not an object made by REDUCE or NEWOBJ")
                }
                let inner = try make(object.kind, depth: object.depth)
                object.kind = .build(object: inner, state: state)
                object.depth = 1 + max(inner.depth, state.depth)
                guard object.depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
            case 0x51:  // BINPERSID
                let id = try pop(name)
                try push(try make(.persistentID(id), depth: 1 + id.depth))
            default:
                throw ConvertError.pickleOpcode(name: name, byte: op, offset: opStart)
            }
        }
    }

    /// LONG1/LONG4 payload: little-endian two's complement, at most 8 bytes (Int64).
    mutating func long(_ count: Int) throws -> Int64 {
        let slice = try take(count, "a \(count)-byte integer")
        guard count <= 8 else { throw limit("integer width in bytes (a \(count)-byte LONG)", 8) }
        guard count > 0 else { return 0 }
        var value: UInt64 = 0
        for (i, byte) in slice.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        if count < 8, let last = slice.last, last & 0x80 != 0 { value |= ~UInt64(0) << (8 * UInt64(count)) }
        return Int64(bitPattern: value)
    }

    mutating func pushGlobal(_ module: String, _ attribute: String) throws {
        guard allowlist.contains(module + "." + attribute) else {
            throw ConvertError.pickleGlobal(module: module, name: attribute, offset: opStart)
        }
        try pushScalar(.global(module: module, name: attribute))
    }

    mutating func memoGet(_ index: Int) throws {
        guard let node = memo[index] else { throw malformed("memo index \(index) was never set") }
        try push(node)
    }

    mutating func memoPut(_ index: Int, _ opcode: String) throws {
        let node = try top(opcode)
        if memo[index] == nil, memo.count >= limits.maxMemoEntries { throw limit("memo entries", limits.maxMemoEntries) }
        memo[index] = node
    }

    /// APPEND(S) onto the top value: a list grows in place; an object gets an `appended` node.
    mutating func append(_ items: [PickleNode], _ opcode: String) throws {
        let target = try top(opcode)
        let depth = max(target.depth, Self.depth(of: items))
        guard depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
        switch target.kind {
        case var .list(existing):
            target.kind = .scalar(.none)  // releases the array so it grows in place
            existing += items
            target.kind = .list(existing)
        case .appended(let object, var existing):
            target.kind = .scalar(.none)
            existing += items
            target.kind = .appended(object: object, items: existing)
        case .reduce, .newObject, .build:
            let inner = try make(target.kind, depth: target.depth)
            target.kind = .appended(object: inner, items: items)
        default:
            throw malformed("\(opcode) on a value that is not a list or an object")
        }
        target.depth = max(depth, target.depth + 1)
        guard target.depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
    }

    /// SETITEM(S) onto the top value: a dict grows in place (a repeated key keeps its position and
    /// takes the new value); an object (e.g. an `OrderedDict` made by REDUCE) gets a `setItems` node.
    mutating func setItems(_ pairs: [(PickleNode, PickleNode)], _ opcode: String) throws {
        let target = try top(opcode)
        var keyed: [(key: PickleValue, value: PickleNode)] = []
        for (keyNode, value) in pairs {
            let key = try materialize(keyNode, depth: 1)
            guard key.isKeyKind else { throw malformed("\(opcode) with a key that is not a string, number, bytes, None, bool or a tuple of these") }
            keyed.append((key, value))
        }
        let depth = 1 + (pairs.map { max($0.0.depth, $0.1.depth) }.max() ?? 0)
        guard depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
        func merge(_ entries: inout [(key: PickleValue, value: PickleNode)], _ index: inout [PickleValue: Int]) {
            for entry in keyed {
                if let at = index[entry.key] { entries[at].value = entry.value } else {
                    index[entry.key] = entries.count
                    entries.append(entry)
                }
            }
        }
        switch target.kind {
        case .dict(var entries, var index):
            target.kind = .scalar(.none)
            merge(&entries, &index)
            target.kind = .dict(entries, index)
        case .setItems(let object, var entries, var index):
            target.kind = .scalar(.none)
            merge(&entries, &index)
            target.kind = .setItems(object: object, entries: entries, index)
        case .reduce, .newObject, .build:
            let inner = try make(target.kind, depth: target.depth)
            var entries: [(key: PickleValue, value: PickleNode)] = []
            var index: [PickleValue: Int] = [:]
            merge(&entries, &index)
            target.kind = .setItems(object: inner, entries: entries, index)
        default:
            throw malformed("\(opcode) on a value that is not a dict or an object")
        }
        target.depth = max(depth, target.depth + 1)
        guard target.depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
    }

    // MARK: The tree

    /// The number of values the tree of `node` will hold, computed once per node (so a memo
    /// bomb costs its node count, not its expanded size), refused past ``PickleLimits/maxValues``
    /// or ``PickleLimits/maxDepth`` and on a cycle, before any of the tree is allocated.
    mutating func expandedSize(_ node: PickleNode, depth: Int, sizes: inout [ObjectIdentifier: Int]) throws -> Int {
        opStart = bytes.count
        let id = ObjectIdentifier(node)
        if let known = sizes[id] { return known }
        guard depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
        guard onPath.insert(id).inserted else { throw malformed("a value contains itself (a cycle through the memo)") }
        defer { onPath.remove(id) }
        let children: [PickleNode]
        switch node.kind {
        case .scalar: children = []
        case let .tuple(items), let .list(items): children = items
        case let .dict(entries, _): children = entries.map(\.value)
        case let .reduce(a, b), let .newObject(a, b), let .build(a, b): children = [a, b]
        case let .setItems(object, entries, _): children = [object] + entries.map(\.value)
        case let .appended(object, items): children = [object] + items
        case let .persistentID(id): children = [id]
        }
        var total = 1
        if case let .dict(entries, _) = node.kind { total += entries.count }  // keys are values too
        if case let .setItems(_, entries, _) = node.kind { total += entries.count }
        for child in children {
            total += try expandedSize(child, depth: depth + 1, sizes: &sizes)
            guard total <= limits.maxValues else {
                throw limit("values in the tree (a shared value counts every time it appears)", limits.maxValues)
            }
        }
        sizes[id] = total
        return total
    }

    /// The value of a node as a tree; depth, size and cycles checked (a memo entry counts every
    /// time it appears, so shared values cannot multiply past ``PickleLimits/maxValues``).
    mutating func materialize(_ node: PickleNode, depth: Int) throws -> PickleValue {
        opStart = bytes.count
        guard depth <= limits.maxDepth else { throw limit("nesting depth", limits.maxDepth) }
        emitted += 1
        guard emitted <= limits.maxValues else { throw limit("values in the tree (a shared value counts every time it appears)", limits.maxValues) }
        let id = ObjectIdentifier(node)
        guard onPath.insert(id).inserted else { throw malformed("a value contains itself (a cycle through the memo)") }
        defer { onPath.remove(id) }
        func all(_ nodes: [PickleNode]) throws -> [PickleValue] { try nodes.map { try materialize($0, depth: depth + 1) } }
        func entries(_ list: [(key: PickleValue, value: PickleNode)]) throws -> [PickleDictEntry] {
            try list.map { PickleDictEntry(key: $0.key, value: try materialize($0.value, depth: depth + 1)) }
        }
        switch node.kind {
        case let .scalar(value): return value
        case let .tuple(items): return .tuple(try all(items))
        case let .list(items): return .list(try all(items))
        case let .dict(list, _): return .dict(try entries(list))
        case let .reduce(callable, args):
            return .reduce(callable: try materialize(callable, depth: depth + 1), args: try materialize(args, depth: depth + 1))
        case let .newObject(cls, args):
            return .newObject(cls: try materialize(cls, depth: depth + 1), args: try materialize(args, depth: depth + 1))
        case let .build(object, state):
            return .build(object: try materialize(object, depth: depth + 1), state: try materialize(state, depth: depth + 1))
        case let .setItems(object, list, _):
            return .setItems(object: try materialize(object, depth: depth + 1), entries: try entries(list))
        case let .appended(object, items):
            return .appended(object: try materialize(object, depth: depth + 1), items: try all(items))
        case let .persistentID(id): return .persistentID(try materialize(id, depth: depth + 1))
        }
    }
}
