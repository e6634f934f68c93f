import Foundation
import HDF5Kit
import Inference
import ModelFormat

/// What a saved ensemble says about itself: the root attributes of `ensemble.h5`.
///
/// Layout (docs/RUNTIME.md, "Saved ensembles"): dataset `configs` float64
/// `[n_saved, chains, 2 Lt Lx]` (link angles in `link_layout` order, in [-pi, pi)), dataset
/// `trajectory` int64 `[n_saved]` (the 1-based trajectory after which each row was saved: `every`,
/// `2 every`, ...), and the root attributes `format` = `l2hmc-ensemble`, `format_version` = `1.0`,
/// `target` = `u1`, `lt`, `lx`, `beta`, `link_layout`, `seed` (decimal string: a UInt64),
/// `every`, `model` (the model's SHA-256, or `hmc` for plain HMC) and `chains`.
public struct EnsembleHeader: Equatable, Sendable {
    public static let format = "l2hmc-ensemble"
    public static let formatVersion = "1.0"
    public static let fileName = "ensemble.h5"

    public var lattice: U1Lattice
    public var seed: UInt64
    public var every: Int
    /// The model's SHA-256 (hex), or `hmc`.
    public var model: String
    public var chains: Int

    public init(lattice: U1Lattice, seed: UInt64, every: Int, model: String, chains: Int) {
        self.lattice = lattice; self.seed = seed; self.every = every; self.model = model; self.chains = chains
    }

    /// Links per configuration, 2 Lt Lx.
    public var linkCount: Int { 2 * lattice.lt * lattice.lx }

    func write(to file: HDF5File) throws {
        let attributes: [(String, HDF5Attribute)] = [
            ("format", .string(Self.format)), ("format_version", .string(Self.formatVersion)), ("target", .string("u1")),
            ("lt", .int(Int64(lattice.lt))), ("lx", .int(Int64(lattice.lx))), ("beta", .double(lattice.beta)),
            ("link_layout", .string(lattice.linkLayout.rawValue)), ("seed", .string(String(seed))), ("every", .int(Int64(every))),
            ("model", .string(model)), ("chains", .int(Int64(chains))),
        ]
        for (name, value) in attributes { try file.writeAttribute("/", name, value) }
    }

    /// Reads and checks the attributes (types, ranges, known values).
    static func read(from file: HDF5File, path: String) throws -> EnsembleHeader {
        let names = Set((try? file.attributeNames("/")) ?? [])
        guard names.contains("format"), case let .string(format)? = try? file.readAttribute("/", "format", maxElements: 1), format == Self.format else {
            throw EnsembleError.notEnsemble(path: path, reason: "its root attribute format is not \"\(Self.format)\"")
        }
        guard case let .string(version)? = try? file.readAttribute("/", "format_version", maxElements: 1) else {
            throw EnsembleError.inconsistent(path: path, reason: "the root attribute format_version is missing or not a string")
        }
        guard version == Self.formatVersion else { throw EnsembleError.formatVersion(path: path, found: version) }
        func bad(_ name: String, _ what: String) -> EnsembleError { .inconsistent(path: path, reason: "root attribute \(name): missing or not \(what)") }
        func int(_ name: String, _ range: ClosedRange<Int>) throws -> Int {
            guard case let .int(v)? = try? file.readAttribute("/", name, maxElements: 1), let i = Int(exactly: v), range.contains(i) else {
                throw bad(name, "an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return i
        }
        func string(_ name: String) throws -> String {
            guard case let .string(v)? = try? file.readAttribute("/", name, maxElements: 1) else { throw bad(name, "a string") }
            return v
        }
        guard try string("target") == "u1" else { throw bad("target", "\"u1\" (the only target this version saves)") }
        let lt = try int("lt", 1...(1 << 20)), lx = try int("lx", 1...(1 << 20))
        guard case let .double(beta)? = try? file.readAttribute("/", "beta", maxElements: 1), beta.isFinite, beta > 0 else {
            throw bad("beta", "a positive finite number")
        }
        guard let layout = LinkLayout(rawValue: try string("link_layout")) else { throw bad("link_layout", "t_x_mu or mu_t_x") }
        guard let seed = UInt64(try string("seed")) else { throw bad("seed", "a decimal UInt64") }
        let every = try int("every", 1...(1 << 40))
        let model = try string("model")
        guard model == "hmc" || (model.count == 64 && model.allSatisfy(\.isHexDigit)) else { throw bad("model", "a SHA-256 or \"hmc\"") }
        let chains = try int("chains", 1...(1 << 31))
        return EnsembleHeader(lattice: U1Lattice(lt: lt, lx: lx, beta: beta, linkLayout: layout), seed: seed, every: every, model: model, chains: chains)
    }
}
