import ModelFormat

/// A target distribution p(x) ~ e^{-U(x)}, evaluated for a batch of chains stored row-major
/// [rows, stateSize]: its value, its force, whether the state is compact, the momentum it is
/// paired with (refresh and kinetic energy), and what a run measures on it (``observables``,
/// ``measure(_:rows:)``) and estimates (``estimators``).
///
/// This is the seam for a new target: a type conforming here runs through ``ChainSampler``,
/// ``RunEngine``, ``RunOutput`` (one `<name>.npy` per observable), resume and ``RunSummary``
/// without any other change. A flow sampler (x = f(z) with log-det) fits as an action over z:
/// U_z(z) = U(f(z)) - log|det f'(z)|, its force by the chain rule, and `measure` mapping z to x
/// before measuring, so HMC runs in z while the record holds observables of x.
public protocol TargetAction: AnyObject {
    /// Number of variables n per chain.
    var stateSize: Int { get }
    /// True for angles (wrapped to [-pi, pi)), false for R^n.
    var isCompact: Bool { get }
    /// U(x) for each row.
    func action(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>)
    /// dU/dx for each row ([rows, n]).
    func force(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>)
    /// Draws the momentum of `chain` at `trajectory` (n values); default N(0, I) from the
    /// counter-based stream of purpose `.momentum`.
    func refreshMomentum(_ random: ChainRandom, trajectory: UInt32, chain: UInt32, into v: UnsafeMutablePointer<Double>)
    /// K(v) for one chain's momentum (n values); default |v|^2 / 2.
    func kineticEnergy(_ v: UnsafePointer<Double>) -> Double
    /// What a run records per configuration, in order (default none).
    var observables: [Observable] { get }
    /// The values of every observable for each row: one array per observable, in the order of
    /// ``observables``, of rows x width values (row-major).
    func measure(_ x: UnsafePointer<Double>, rows: Int) -> [[Double]]
    /// The quantities the summary estimates, in order (default: the mean of every component
    /// of every observable, with the observable's exact value for scalars).
    var estimators: [Estimator] { get }
    /// The lattice of a 2D U(1) gauge target, nil for any other target (default nil). Local
    /// networks read their sites, link layout and run size from it, so a wrapper of a U(1)
    /// target (e.g. one that counts force evaluations) must pass it on.
    var u1Lattice: U1Lattice? { get }
}

extension TargetAction {
    public func refreshMomentum(_ random: ChainRandom, trajectory: UInt32, chain: UInt32, into v: UnsafeMutablePointer<Double>) {
        random.normals(trajectory: trajectory, chain: chain, purpose: .momentum, count: stateSize, into: v)
    }

    public func kineticEnergy(_ v: UnsafePointer<Double>) -> Double {
        var s = 0.0
        for i in 0..<stateSize { s += v[i] * v[i] }
        return 0.5 * s
    }

    public var observables: [Observable] { [] }

    public var u1Lattice: U1Lattice? { nil }

    public func measure(_ x: UnsafePointer<Double>, rows: Int) -> [[Double]] { [] }

    public var estimators: [Estimator] {
        observables.flatMap { o -> [Estimator] in
            if o.shape.isEmpty { return [Estimator(name: o.name, exact: o.exact, observable: o.name)] }
            return (0..<o.width).map { Estimator(name: "\(o.name)[\($0)]", exact: nil, observable: o.name, component: $0) }
        }
    }
}
