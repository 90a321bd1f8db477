import Foundation
import Testing

@testable import BerthAgent

@Suite("Paths under the root")
struct AgentRootTests {
    @Test("relative and absolute paths inside the root resolve; the root itself does")
    func inside() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        #expect(try root.resolve("launches/a/stdout") == root.path + "/launches/a/stdout")
        #expect(try root.resolve("./x//y/") == root.path + "/x/y")
        #expect(try root.resolve(root.path + "/sock") == root.path + "/sock")
        #expect(try root.resolve(root.path) == root.path)
    }

    @Test("'..' is refused in any position, even when it would stay inside")
    func parent() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        for path in ["..", "../etc/passwd", "a/../../b", "a/..", root.path + "/a/../b"] {
            #expect(throws: UnsafePath.parentComponent(path)) { try root.resolve(path) }
        }
    }

    @Test("absolute paths outside the root are refused, including a sibling with the root as prefix")
    func outside() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        for path in ["/etc/passwd", "/", temporary.path, root.path + "-other/x"] {
            #expect(throws: UnsafePath.outsideRoot(path)) { try root.resolve(path) }
        }
        #expect(throws: UnsafePath.empty) { try root.resolve("") }
    }

    @Test("a symlink leading out is refused: as a directory on the way, as the leaf, and dangling")
    func symlinks() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        let outside = temporary.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.path + "/escape", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: root.path + "/passwd", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(
            atPath: root.path + "/dangling", withDestinationPath: outside + "/not-yet")
        try FileManager.default.createDirectory(atPath: root.path + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: root.path + "/inner", withDestinationPath: root.path + "/real")

        #expect(throws: UnsafePath.self) { try root.resolve("escape/disk.img") }
        #expect(throws: UnsafePath.self) { try root.resolve("escape") }
        #expect(throws: UnsafePath.self) { try root.resolve("passwd") }
        #expect(throws: UnsafePath.self) { try root.resolve("dangling") }
        // A link that stays inside is fine.
        #expect(try root.resolve("inner/x") == root.path + "/inner/x")
    }

    @Test("launch ids are single safe path components")
    func launchNames() {
        #expect(LaunchDirectory.isSafeName("l-0194-abc_1.2"))
        for name in ["", ".", "..", "a/b", "../x", "a b", String(repeating: "a", count: 129)] {
            #expect(!LaunchDirectory.isSafeName(name), "\(name)")
        }
    }
}
