import Foundation

/// The 8 per-site input channels of local networks (docs/FORMAT.md, "Local networks"), written
/// [chains * V, 8] row-major (row = chain * V + site), for `chains` consecutive chains whose
/// [chains, n] rows start at the given pointers.
///
/// x-networks (moving the links with read flag 0, reading r = 1):
///   r_0 cos x_0, r_0 sin x_0, r_1 cos x_1, r_1 sin x_1, r_0, r_1, v_0, v_1
/// v-networks:
///   cos x_0, sin x_0, cos x_1, sin x_1, cos P, sin P, F_0, F_1
/// with P(t, x) = x_0(t, x) + x_1(t + 1, x) - x_0(t, x + 1) - x_1(t, x). cos/sin of the links come
/// from `trig` ([chains, 2n]: cos x | sin x), which the dynamics keep equal to cos/sin of x.
enum LocalFeatures {
    static let channels = 8

    static func x(trig: UnsafePointer<Double>, v: UnsafePointer<Double>, read: UnsafePointer<Double>, chains: Int,
                  geometry g: LocalGeometry, into out: UnsafeMutablePointer<Double>) {
        let n = g.linkCount, sites = g.volume
        g.links.withUnsafeBufferPointer { lk in
            for c in 0..<chains {
                let cs = trig + c * 2 * n, vc = v + c * n
                for s in 0..<sites {
                    let l0 = Int(lk[2 * s]), l1 = Int(lk[2 * s + 1])
                    let r0 = read[l0], r1 = read[l1]
                    let o = out + (c * sites + s) * channels
                    o[0] = r0 * cs[l0]; o[1] = r0 * cs[n + l0]; o[2] = r1 * cs[l1]; o[3] = r1 * cs[n + l1]
                    o[4] = r0; o[5] = r1; o[6] = vc[l0]; o[7] = vc[l1]
                }
            }
        }
    }

    static func v(x: UnsafePointer<Double>, trig: UnsafePointer<Double>, force: UnsafePointer<Double>, chains: Int,
                  geometry g: LocalGeometry, into out: UnsafeMutablePointer<Double>) {
        let n = g.linkCount, sites = g.volume
        g.links.withUnsafeBufferPointer { lk in g.plaquette.withUnsafeBufferPointer { pl in
            for c in 0..<chains {
                let cs = trig + c * 2 * n, xc = x + c * n, fc = force + c * n
                for s in 0..<sites {
                    let l0 = Int(lk[2 * s]), l1 = Int(lk[2 * s + 1])
                    let p = xc[Int(pl[4 * s])] + xc[Int(pl[4 * s + 1])] - xc[Int(pl[4 * s + 2])] - xc[Int(pl[4 * s + 3])]
                    let o = out + (c * sites + s) * channels
                    o[0] = cs[l0]; o[1] = cs[n + l0]; o[2] = cs[l1]; o[3] = cs[n + l1]
                    o[4] = Foundation.cos(p); o[5] = Foundation.sin(p); o[6] = fc[l0]; o[7] = fc[l1]
                }
            }
        } }
    }
}
