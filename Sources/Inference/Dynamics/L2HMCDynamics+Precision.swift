/// The network arithmetic of a sampler (`--precision`, see ``NetworkPrecision``).
extension L2HMCDynamics {
    /// float32 when the networks run their float twins.
    public var precision: NetworkPrecision { networks.first?.precision ?? .float64 }

    /// Switches every network to `p` (float32: weights rounded once to float now) and rebuilds the
    /// scratch space and permuted heads. Setup only: not during a trajectory. Compressing layers
    /// afterwards keeps the precision (the float twins are rebuilt from the compressed layers).
    public func setPrecision(_ p: NetworkPrecision) {
        for net in networks { net.setPrecision(p) }
        refreshWorkspace()
    }
}
