import Foundation
import Trainer

/// The per-step CSV log and the progress line, which name each quantity the same way.
///
/// Columns: `step`, then `beta` (U(1)) or `temperature` (mixtures: T = 1 / the inverse
/// temperature the step used), `learning_rate`, `loss`, `acceptance`, `esjd`, then
/// `tunneling_rate` (U(1): mean |Q_int change| of the persistent chains) or `mode_switch_rate`
/// (mixtures: fraction of chains whose nearest mode changed), `gradient_norm`, `eps_x`, `eps_v`.
/// Logs written before these names (`scale`, holding beta or 1/T, and `tunneling`) are the
/// ``Columns/legacy`` format: `--resume` continues such a log in its own format, so every row of
/// one file means the same.
enum TrainingLog {
    enum Columns: CaseIterable {
        case u1, mixture
        /// `step,scale,...,tunneling,...` (scale = beta or 1/T), written before the names above.
        case legacy

        init(_ target: TrainingConfig.TargetKind) { self = target == .u1 ? .u1 : .mixture }

        var header: String {
            switch self {
            case .u1: return "step,beta,learning_rate,loss,acceptance,esjd,tunneling_rate,gradient_norm,eps_x,eps_v\n"
            case .mixture: return "step,temperature,learning_rate,loss,acceptance,esjd,mode_switch_rate,gradient_norm,eps_x,eps_v\n"
            case .legacy: return "step,scale,learning_rate,loss,acceptance,esjd,tunneling,gradient_norm,eps_x,eps_v\n"
            }
        }

        /// The format whose header `bytes` start with.
        static func detect(_ bytes: [UInt8]) -> Columns? {
            allCases.first { bytes.starts(with: Array($0.header.utf8)) }
        }
    }

    static func row(_ m: L2HMCTrainer.Metrics, _ columns: Columns) -> String {
        let second = columns == .mixture ? 1 / m.scale : m.scale
        return String(m.step) + "," + [second, m.learningRate, m.loss, m.acceptance, m.esjd, m.tunneling, m.gradientNorm, m.epsX, m.epsV]
            .map { String(format: "%.17g", $0) }.joined(separator: ",") + "\n"
    }

    /// One progress line, labelled with the log's column names.
    /// - Parameter rate: steps per second of this process (steps done since it started or resumed).
    static func progressLine(_ m: L2HMCTrainer.Metrics, total: Int, target: TrainingConfig.TargetKind, rate: Double) -> String {
        let scaleText = target == .u1 ? String(format: "beta %.3f", m.scale) : String(format: "temperature %.3f", 1 / m.scale)
        let rateName = target == .u1 ? "tunneling_rate" : "mode_switch_rate"
        return String(format: "step %6d/%d  %@  loss %+.4g  acceptance %.3f  esjd %.4g  %@ %.3f  eps_x %.4f  eps_v %.4f  %.1f steps/s",
                      m.step, total, scaleText, m.loss, m.acceptance, m.esjd, rateName, m.tunneling, m.epsX, m.epsV, rate)
    }

    /// Steps per second of this process: `step - startStep` steps (those done since it started
    /// or resumed at `startStep`) in `seconds`.
    static func rate(step: Int, startStep: Int, seconds: Double) -> Double {
        Double(step - startStep) / max(seconds, 1e-9)
    }
}
