import Foundation

extension U1Exact {
    /// Arguments outside the domain of the exact results, refused before any work (no trap).
    /// `description` is one line, `[code] message`.
    public enum InvalidInput: Error, Equatable, CustomStringConvertible {
        /// beta must be finite and > 0.
        case beta(Double)
        /// The volume (number of plaquettes) is below the stated minimum.
        case volume(Int, minimum: Int)
        /// theta must be finite.
        case theta(Double)

        public var code: String {
            switch self {
            case .beta: return "exact.invalid_beta"
            case .volume: return "exact.invalid_volume"
            case .theta: return "exact.invalid_theta"
            }
        }

        public var description: String {
            let message: String
            switch self {
            case let .beta(beta): message = "exact U(1) results need a finite beta > 0 (got \(beta))"
            case let .volume(volume, minimum): message = "exact U(1) results need a volume of at least \(minimum) plaquettes (got \(volume))"
            case let .theta(theta): message = "exact U(1) results need a finite theta (got \(theta))"
            }
            return "[\(code)] \(message)"
        }
    }

    /// Throws unless `beta` is finite and > 0 and `volume >= minimum`.
    static func validate(beta: Double, volume: Int, minimum: Int) throws {
        guard beta.isFinite, beta > 0 else { throw InvalidInput.beta(beta) }
        guard volume >= minimum else { throw InvalidInput.volume(volume, minimum: minimum) }
    }
}
