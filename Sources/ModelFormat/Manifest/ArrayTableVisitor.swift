/// Receives a model's canonical array table from its one walker
/// (``SamplerRules/walkArrays(_:probe:into:)`` for l2hmc), entry by entry.
///
/// The same walk both lists the table (``ArrayTableBuilder``) and counts it
/// (``ArrayTableCounter``), so the two cannot drift apart. A walker emits arrays that repeat
/// per network through ``group(_:_:)``; every call of a group's body must emit the same number
/// of arrays whatever the name (the tests tie count and table together for many shapes), which
/// lets a counter evaluate the body once and multiply: an absurd manifest is counted in time
/// proportional to its number of networks, not of arrays.
public protocol ArrayTableVisitor {
    /// One array of the table.
    mutating func add(_ name: String, _ entry: SamplerRules.ExpectedArray)
    /// The arrays of one group per name in `names`, emitted by `body(&self, name)`.
    mutating func group(_ names: [String], _ body: (inout Self, String) -> Void)
}

/// Keeps every entry: the table itself.
public struct ArrayTableBuilder: ArrayTableVisitor {
    public private(set) var table: [String: SamplerRules.ExpectedArray] = [:]
    public init() {}
    public mutating func add(_ name: String, _ entry: SamplerRules.ExpectedArray) { table[name] = entry }
    public mutating func group(_ names: [String], _ body: (inout ArrayTableBuilder, String) -> Void) {
        for name in names { body(&self, name) }
    }
}

/// Counts entries without keeping them; a group's body runs once, for its first name.
public struct ArrayTableCounter: ArrayTableVisitor {
    public private(set) var count = 0
    public init() {}
    public mutating func add(_ name: String, _ entry: SamplerRules.ExpectedArray) { count += 1 }
    public mutating func group(_ names: [String], _ body: (inout ArrayTableCounter, String) -> Void) {
        guard let first = names.first else { return }
        var one = ArrayTableCounter()
        body(&one, first)
        count += one.count * names.count
    }
}
