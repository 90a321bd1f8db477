import Foundation

/// A path refused by the paths-under-root rule.
public enum UnsafePath: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    /// A `..` component: refused outright rather than normalized, so no spelling can climb out.
    case parentComponent(String)
    /// An absolute path that is not under the root.
    case outsideRoot(String)
    /// A component is a symbolic link that leads out of the root (or nowhere).
    case symlinkEscape(path: String, target: String)
    case nulByte

    public var description: String {
        switch self {
        case .empty: return "empty path"
        case .parentComponent(let path): return "\(path): '..' is not allowed"
        case .outsideRoot(let path): return "\(path) is outside the agent's root"
        case .symlinkEscape(let path, let target): return "\(path) leads outside the agent's root (to \(target))"
        case .nulByte: return "path contains a NUL byte"
        }
    }
}

/// The agent's root directory (`--root`): every socket, disk, kernel, log and state file it
/// touches must resolve inside it (spec §6). A path is refused when it has a `..` component,
/// when it is absolute and not under the root, or when a symbolic link on the way (even a
/// dangling one, which a later create would follow) leads outside.
public struct AgentRoot: Sendable {
    /// The root, absolute with every symbolic link resolved.
    public let path: String

    /// Creates the directory if needed and resolves it.
    public init(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard let resolved = Self.realpath(path) else {
            throw UnsafePath.outsideRoot(path)
        }
        self.path = resolved
    }

    /// `candidate` (relative to the root, or absolute under it) as an absolute path inside the
    /// root, or the reason it is refused. The path need not exist yet.
    public func resolve(_ candidate: String) throws(UnsafePath) -> String {
        guard !candidate.isEmpty else { throw .empty }
        guard !candidate.utf8.contains(0) else { throw .nulByte }
        let components = candidate.split(separator: "/", omittingEmptySubsequences: true)
        if components.contains("..") { throw .parentComponent(candidate) }
        let kept = components.filter { $0 != "." }
        let absolute: String
        if candidate.hasPrefix("/") {
            absolute = "/" + kept.joined(separator: "/")
            guard contains(absolute) else { throw .outsideRoot(candidate) }
        } else {
            absolute = kept.isEmpty ? path : path + "/" + kept.joined(separator: "/")
        }
        // The deepest part that exists decides where the path really goes.
        var probe = absolute
        while true {
            var info = stat()
            if lstat(probe, &info) == 0 {
                guard let real = Self.realpath(probe) else {
                    throw .symlinkEscape(path: candidate, target: Self.linkTarget(probe) ?? "nowhere")
                }
                guard contains(real) else { throw .symlinkEscape(path: candidate, target: real) }
                break
            }
            guard probe != path, let slash = probe.lastIndex(of: "/"), slash != probe.startIndex else { break }
            probe = String(probe[..<slash])
        }
        return absolute
    }

    /// A directory inside the root, created if missing.
    public func directory(_ relative: String) throws -> String {
        let resolved = try resolve(relative)
        try FileManager.default.createDirectory(atPath: resolved, withIntermediateDirectories: true)
        // Created directories could have raced with a symlink swap: check again once they exist.
        return try resolve(resolved)
    }

    private func contains(_ absolute: String) -> Bool {
        absolute == path || absolute.hasPrefix(path == "/" ? "/" : path + "/")
    }

    static func realpath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func linkTarget(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }
}
