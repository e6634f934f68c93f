import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// The same seed gives bit-identical trajectories whatever the OpenBLAS thread count.
///
/// Why it holds: every chain's random numbers are counter-based (ChainRandom), the elementwise
/// kernels are single-threaded per call and give the same bits for a row whatever the row count,
/// and OpenBLAS splits a GEMM across threads by blocks of rows and columns of C, never along the
/// inner dimension K, so each output element is the same sequence of fused multiply-adds in the
/// same micro-kernel (its choice of kernel depends on the shape, not on the thread count).
final class ThreadDeterminismTests: XCTestCase {
    func testOneAndTwoThreadsGiveIdenticalRecords() throws {
        let before = BLAS.threads, work = BLAS.parallelMinimumWork, dimension = BLAS.parallelMinimumDimension
        defer { BLAS.setThreads(before); BLAS.parallelMinimumWork = work; BLAS.parallelMinimumDimension = dimension }
        // Thread every GEMM (by default the small ones of this test would stay on one thread).
        BLAS.parallelMinimumWork = 0
        BLAS.parallelMinimumDimension = 0
        // W1-like: 8x8 U(1), shared networks with time input, cos/sin inputs, NCP; chains split
        // into direction groups of ~32 rows. Units 256 make every GEMM (32 x 256 x 256 and up)
        // larger than OpenBLAS's single-threaded small-matrix path (up to 100^3 multiply-adds),
        // so the threaded path really runs.
        let spec = SamplerSpec(
            target: .u1(U1Lattice(lt: 8, lx: 8, beta: 2)),
            dynamics: Dynamics(nLF: 3, xUpdate: .ncp),
            network: NetworkSpec(layout: .shared, xNetInput: .cosSinBlocks, vNetInput: .cosSinBlocks, maskPlacement: .beforeTrig,
                                 timeInput: true, hiddenUnits: [256, 256]))
        let model = try RandomModel.make(sampler: spec, seed: 3, epsX: 0.1, epsV: 0.1, weightScale: 0.3)
        func run(threads: Int) throws -> [UInt64] {
            BLAS.setThreads(threads)
            let target = makeTarget(spec.target)
            let dyn = try L2HMCDynamics(model: model, target: target, capacity: 64)
            let hmc = LeapfrogDynamics(target: target, stepSize: 0.2, stepCount: 4, capacity: 64)
            let sampler = try ChainSampler(target: target, l2hmc: dyn, hmc: hmc, chains: 64, seed: 11)
            sampler.randomizeStart()
            var bits: [UInt64] = []
            for kind in [Schedule.Kind.l2hmc, .hmc, .l2hmc, .l2hmc] {
                let o = sampler.step(kind: kind)
                bits += (o.acceptProbability + o.energyChange + o.logDet).map(\.bitPattern)
                bits += o.accepted.map { $0 ? 1 : 0 }
            }
            return bits + sampler.x.array.map(\.bitPattern)
        }
        let one = try run(threads: 1)
        let two = try run(threads: 2)
        XCTAssertEqual(BLAS.threads, 2)
        XCTAssertEqual(one.count, two.count)
        let differing = zip(one, two).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "\(differing) of \(one.count) recorded values differ between 1 and 2 OpenBLAS threads")
        XCTAssertTrue(one.contains { $0 != 0 })
    }

    /// The truncated SVD behind --lowrank is computed on one thread: with OpenBLAS's threads the
    /// LAPACK factors differed in the last bits between 1 and 2 threads (seen on W3), and so did
    /// every compressed trajectory.
    func testLowRankFactorsDoNotDependOnTheThreadCount() throws {
        let before = BLAS.threads
        defer { BLAS.setThreads(before) }
        let rows = 512, cols = 256
        let a = Fixtures.normals(rows * cols, seed: 77)
        func factors(threads: Int) throws -> [UInt64] {
            BLAS.setThreads(threads)
            let svd = try TruncatedSVD(matrix: a, rows: rows, cols: cols)
            let f = svd.factors(rank: 16)
            return (svd.singularValues + f.p + f.q).map(\.bitPattern)
        }
        XCTAssertEqual(try factors(threads: 1), try factors(threads: 2))
    }
}
