import ArgumentParser
import Ensemble
import Foundation
import Inference
import ModelFormat

/// `l2hmc-run measure ENSEMBLE.h5`: observables recomputed from saved configurations.
struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Recompute the plaquette, Q_int, Q_sin and R x T Wilson loops from a saved ensemble (--save-configs).",
        discussion: """
            Examples:
              l2hmc-run --sampler hmc --trajectories 400 --out run1 --save-configs 4
              l2hmc-run measure run1/ensemble.h5 --wilson-max 3
              l2hmc-run measure run1/ensemble.h5 --json > measured.json
            Per saved trajectory and chain: mean cos phi_P, Q_int and Q_sin (the runtime's own \
            code, identical to the run's records) and W(R, T) = mean over the lattice of the cosine \
            of the R x T loop's angle (R links in x, T in t). The summary drops the first \
            --thermalization fraction of the saved configurations and gives means with the run \
            summaries' errors and the exact finite-volume values (character expansion).
            """)

    @Argument(help: "The ensemble file (DIR/ensemble.h5 of a run with --save-configs).")
    var ensemble: String
    @Option(help: "Largest R and T of the Wilson loops (default 2; below the smaller lattice extent).")
    var wilsonMax: Int?
    @Option(help: "Fraction of the saved configurations dropped before the summary (default 0.25).")
    var thermalization: Double?
    @Flag(help: "Print everything as JSON on stdout: the summary and every per-configuration value.")
    var json = false

    func run() throws {
        let reader = try EnsembleReader(path: ensemble)
        defer { reader.close() }
        let l = reader.header.lattice
        let rMax = wilsonMax ?? min(2, min(l.lt, l.lx) - 1)
        let m = try EnsembleMeasurement(reader: reader, rMax: rMax, thermalization: thermalization ?? Thermalization.defaultFraction)
        if json {
            Console.out(try CanonicalJSONWriter.encode(m.json(path: ensemble)))
        } else {
            print(m.text(path: ensemble), terminator: "")
        }
    }
}
