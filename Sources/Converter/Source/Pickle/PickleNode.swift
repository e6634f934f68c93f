import Foundation

/// A value under construction inside ``PickleReader``: a reference, so that a memo entry and the
/// stack see the same container while APPENDS/SETITEMS/BUILD fill it in (Python's semantics).
/// ``PickleReader`` turns the finished graph into a ``PickleValue`` tree with bounded depth and
/// size, then clears every node so that neither a cycle nor a deep chain outlives the read (or
/// recurses in `deinit`).
final class PickleNode {
    enum Kind {
        case scalar(PickleValue)
        case tuple([PickleNode])
        case list([PickleNode])
        /// Entries with materialized keys, and each key's position (a key set twice is replaced).
        case dict([(key: PickleValue, value: PickleNode)], [PickleValue: Int])
        case reduce(callable: PickleNode, args: PickleNode)
        case newObject(cls: PickleNode, args: PickleNode)
        case build(object: PickleNode, state: PickleNode)
        case setItems(object: PickleNode, entries: [(key: PickleValue, value: PickleNode)], [PickleValue: Int])
        case appended(object: PickleNode, items: [PickleNode])
        case persistentID(PickleNode)
    }

    var kind: Kind
    /// Nesting depth at construction (1 for a scalar); an early refusal of recursion bombs. The
    /// materialization checks the depth again, since in-place appends can deepen ancestors.
    var depth: Int

    init(_ kind: Kind, depth: Int) {
        self.kind = kind
        self.depth = depth
    }

    var isGlobal: Bool {
        if case .scalar(.global) = kind { return true }
        return false
    }

    var isTuple: Bool {
        if case .tuple = kind { return true }
        return false
    }
}
