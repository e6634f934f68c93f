import Foundation

/// Where the default model lives: `fixtures/default.l2z` under the current directory, or under
/// the repository this binary was built from.
enum DefaultModel {
    static let relativePath = "fixtures/default.l2z"

    static func locate() -> String? {
        let fm = FileManager.default
        let cwd = fm.currentDirectoryPath + "/" + relativePath
        if fm.fileExists(atPath: cwd) { return relativePath }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let built = repo.appendingPathComponent(relativePath).path
        return fm.fileExists(atPath: built) ? built : nil
    }
}
