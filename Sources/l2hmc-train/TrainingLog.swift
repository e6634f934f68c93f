import Foundation
import Trainer

/// The per-step CSV log and the progress line.
enum TrainingLog {
    static let header = "step,scale,learning_rate,loss,acceptance,esjd,tunneling,gradient_norm,eps_x,eps_v\n"

    static func row(_ m: L2HMCTrainer.Metrics) -> String {
        [String(m.step)].joined() + "," + [m.scale, m.learningRate, m.loss, m.acceptance, m.esjd, m.tunneling, m.gradientNorm, m.epsX, m.epsV]
            .map { String(format: "%.17g", $0) }.joined(separator: ",") + "\n"
    }

    static func progressLine(_ m: L2HMCTrainer.Metrics, total: Int, target: TrainingConfig.TargetKind, rate: Double) -> String {
        let scaleText = target == .u1 ? String(format: "beta %.3f", m.scale) : String(format: "T %.3f", 1 / m.scale)
        let tunnel = target == .u1 ? "tunnel" : "switch"
        return String(format: "step %6d/%d  %@  loss %+.4g  acc %.3f  esjd %.4g  %@ %.3f  eps_x %.4f  eps_v %.4f  %.1f steps/s",
                      m.step, total, scaleText, m.loss, m.acceptance, m.esjd, tunnel, m.tunneling, m.epsX, m.epsV, rate)
    }
}
