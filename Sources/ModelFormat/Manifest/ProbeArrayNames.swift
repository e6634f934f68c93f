/// The names of the probe arrays (docs/FORMAT.md, "Probe"), spelled in this one place.
///
/// For each probed network NET: `probe.NET.in_x`, `in_v`, `in_t` (with time input) and the
/// three head outputs `out_scale`, `out_translation`, `out_transformation`. For the trajectory:
/// `probe.trajectory.x0`, `v0`, `direction`, `x1`, `v1`, `log_det`.
public enum ProbeArrayNames {
    /// Every probe array name starts with this prefix.
    public static let prefix = "probe."

    /// True for any probe array name.
    public static func isProbe(_ name: String) -> Bool { name.hasPrefix(prefix) }

    /// The x input rows of network `network` (e.g. `vnet.0`).
    public static func inX(_ network: String) -> String { "\(prefix)\(network).in_x" }
    /// The v input rows of network `network`.
    public static func inV(_ network: String) -> String { "\(prefix)\(network).in_v" }
    /// The (cos, sin) time input rows of network `network` (only with time input).
    public static func inT(_ network: String) -> String { "\(prefix)\(network).in_t" }

    /// The three outputs of one network, in the order scale, translation, transformation.
    public enum Head: String, CaseIterable, Sendable {
        case scale = "out_scale"
        case translation = "out_translation"
        case transformation = "out_transformation"
    }

    /// The output `head` of network `network`.
    public static func output(_ network: String, _ head: Head) -> String { "\(prefix)\(network).\(head.rawValue)" }

    /// The stored trajectory's arrays.
    public enum Trajectory {
        public static let x0 = "\(prefix)trajectory.x0"
        public static let v0 = "\(prefix)trajectory.v0"
        /// +1 (forward) or -1 (backward) per row.
        public static let direction = "\(prefix)trajectory.direction"
        public static let x1 = "\(prefix)trajectory.x1"
        public static let v1 = "\(prefix)trajectory.v1"
        public static let logDet = "\(prefix)trajectory.log_det"
    }
}
