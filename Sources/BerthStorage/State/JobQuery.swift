import BerthControlPlane
import Foundation

/// A filtered, paginated listing of jobs (`GET /api/jobs`). Jobs come oldest first (by
/// creation time, then id), and pages continue by keyset, so concurrent inserts never shift or
/// repeat rows.
public struct JobQuery: Equatable, Sendable {
    /// Only jobs with this status.
    public var status: JobStatus?
    /// Only jobs whose command contains this text, ignoring ASCII case.
    public var commandContains: String?
    /// Only jobs created at or after this time, in milliseconds since the epoch.
    public var createdAfterMs: Int64?
    /// Only jobs created at or before this time, in milliseconds since the epoch.
    public var createdBeforeMs: Int64?
    /// Only jobs run by this worker node.
    public var executedBy: String?
    /// Jobs per page, 1 through `maxPageSize` (values outside are clamped; 0 means the default).
    public var pageSize: Int
    /// The previous page's `nextPageToken`, or nil for the first page.
    public var pageToken: String?

    /// The largest page.
    public static let maxPageSize = 1_000
    /// The page size when none is given.
    public static let defaultPageSize = 100

    public init(
        status: JobStatus? = nil, commandContains: String? = nil, createdAfterMs: Int64? = nil,
        createdBeforeMs: Int64? = nil, executedBy: String? = nil,
        pageSize: Int = JobQuery.defaultPageSize,
        pageToken: String? = nil
    ) {
        self.status = status
        self.commandContains = commandContains
        self.createdAfterMs = createdAfterMs
        self.createdBeforeMs = createdBeforeMs
        self.executedBy = executedBy
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    /// The page size actually used.
    public var effectivePageSize: Int {
        pageSize <= 0 ? Self.defaultPageSize : min(pageSize, Self.maxPageSize)
    }
}

/// One page of jobs.
public struct JobPage: Equatable, Sendable {
    public var jobs: [JobRecord]
    /// The token for the next page (`X-Next-Page-Token`), nil on the last page.
    public var nextPageToken: String?
    /// How many jobs match the filters across all pages (`X-Total-Count`).
    public var totalCount: Int

    public init(jobs: [JobRecord], nextPageToken: String?, totalCount: Int) {
        self.jobs = jobs
        self.nextPageToken = nextPageToken
        self.totalCount = totalCount
    }
}

/// The opaque page token: the last row's (created_at_ms, id), base64url-encoded behind a
/// version prefix.
struct JobPageToken: Equatable {
    var createdAtMs: Int64
    var id: String

    private static let prefix = "j1:"

    var encoded: String {
        let raw = Data((Self.prefix + "\(createdAtMs):\(id)").utf8).base64EncodedString()
        return raw.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(createdAtMs: Int64, id: String) {
        self.createdAtMs = createdAtMs
        self.id = id
    }

    init?(encoded token: String) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(
            of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
            text.hasPrefix(Self.prefix)
        else { return nil }
        let rest = text.dropFirst(Self.prefix.count)
        guard let colon = rest.firstIndex(of: ":"), let createdAtMs = Int64(rest[..<colon]) else {
            return nil
        }
        self.createdAtMs = createdAtMs
        id = String(rest[rest.index(after: colon)...])
    }
}
