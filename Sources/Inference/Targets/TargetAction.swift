/// A target distribution p(x) ~ e^{-U(x)}, evaluated for a batch of chains stored row-major
/// [rows, stateSize]. An action is its value, its force, and whether the state is compact.
public protocol TargetAction: AnyObject {
    /// Number of variables n per chain.
    var stateSize: Int { get }
    /// True for angles (wrapped to [-pi, pi)), false for R^n.
    var isCompact: Bool { get }
    /// U(x) for each row.
    func action(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>)
    /// dU/dx for each row ([rows, n]).
    func force(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>)
}
