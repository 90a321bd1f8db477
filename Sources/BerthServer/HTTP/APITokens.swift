import Foundation

/// What a bearer token may do. Each role includes the ones below it.
public enum APIRole: String, Comparable, Sendable, CaseIterable {
    case read, write, admin

    private var rank: Int {
        switch self {
        case .read: return 0
        case .write: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: APIRole, rhs: APIRole) -> Bool { lhs.rank < rhs.rank }
}

/// The API's bearer tokens (`--token-file`): one `TOKEN ROLE` per line, `#` comments.
public struct APITokens: Equatable, Sendable {
    struct Entry: Equatable, Sendable {
        var token: [UInt8]
        var role: APIRole
    }

    private(set) var entries: [Entry]

    /// Shorter tokens are refused: a guessable token is no protection.
    public static let minimumLength = 16

    public static func load(path: String) throws(ConfigError) -> APITokens {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    /// Errors name the line, never the token: config errors are printed and logged.
    public static func parse(_ text: String, path: String = "<tokens>") throws(ConfigError) -> APITokens {
        var entries: [Entry] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            let place = "\(path) line \(number + 1)"
            guard fields.count == 2 else {
                throw .invalid(key: "token-file", value: place, reason: "expected TOKEN ROLE")
            }
            guard let role = APIRole(rawValue: String(fields[1])) else {
                throw .invalid(key: "token-file", value: place, reason: "role must be read, write or admin")
            }
            let token = Array(fields[0].utf8)
            guard token.count >= minimumLength else {
                throw .invalid(
                    key: "token-file", value: place, reason: "a token has at least \(minimumLength) characters")
            }
            guard !entries.contains(where: { $0.token == token }) else {
                throw .invalid(key: "token-file", value: place, reason: "the same token is listed twice")
            }
            entries.append(Entry(token: token, role: role))
        }
        guard !entries.isEmpty else {
            throw .invalid(key: "token-file", value: path, reason: "no tokens in the file")
        }
        return APITokens(entries: entries)
    }

    /// The role of `presented`, or nil. Every token is compared, each in time independent of
    /// where the bytes differ, so the answer's timing does not tell how much of a guess was right.
    public func role(of presented: some Collection<UInt8>) -> APIRole? {
        let candidate = Array(presented)
        var found: APIRole?
        for entry in entries where Self.constantTimeEqual(entry.token, candidate) {
            found = entry.role
        }
        return found
    }

    /// A token with at least `role`, for this node's own calls to another node's API (a join).
    public func token(for role: APIRole) -> String? {
        entries.first { $0.role >= role }.map { String(decoding: $0.token, as: UTF8.self) }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }
}

extension APITokens: CustomStringConvertible {
    /// Never the tokens themselves: configs get printed and logged.
    public var description: String {
        "APITokens("
            + APIRole.allCases.map { role in "\(role): \(entries.filter { $0.role == role }.count)" }
            .joined(separator: ", ") + ")"
    }
}

/// Which role a request needs (spec §8, issue 12): none for the probes and metrics, `admin` for
/// membership, leadership transfer, drain, cordon and the test hooks, `write` for any other
/// change, and `read` for reads — only when reads are protected (`--auth-reads`).
enum RequiredRole {
    /// POSTs that only compute an answer from the state: reads.
    static let readPOSTs: Set<String> = [
        "/api/v1alpha1/schedule/explain", "/api/v1alpha1/schedule/select", "/api/v1alpha1/plan/launch",
        "/api/v1alpha1/launch/validate", "/api/v1alpha1/launch/dry-run",
    ]

    static func of(method: String, path: String, authReads: Bool) -> APIRole? {
        if path == "/metrics" || path == "/health/live" || path == "/health/ready" || path == "/api/health" {
            return nil
        }
        // A backup holds the whole state: admin only, although it is a GET.
        if path == "/api/cluster/snapshot" { return .admin }
        let isRead = method == "GET" || method == "HEAD" || (method == "POST" && readPOSTs.contains(path))
        if isRead { return authReads ? .read : nil }
        if path.hasPrefix("/debug/") || path == "/api/cluster/transfer-leadership" || path == "/api/cluster/drain"
            || path == "/api/cluster/members" || path.hasPrefix("/api/cluster/members/")
            || path == "/api/scheduler/pause" || path == "/api/scheduler/resume"
        {
            return .admin
        }
        if path.hasPrefix("/api/v1alpha1/nodes/"),
            path.hasSuffix("/cordon") || path.hasSuffix("/uncordon") || path.hasSuffix("/drain")
                || path.hasSuffix("/orphans/sweep")
        {
            return .admin
        }
        return .write
    }
}
