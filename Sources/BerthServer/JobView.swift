import BerthControlPlane
import BerthStorage
import Foundation

/// A job as the API shows it (the Raft scheduler seed's shape).
struct JobView: Codable, Equatable, Sendable {
    var id: String
    var command: String
    var image: String?
    var status: String
    /// The node that ran the job, if it ran.
    var executedBy: String?
    var output: String?
    var error: String?
    /// RFC 3339.
    var createdAt: String
    /// RFC 3339, once the job is terminal.
    var completedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, command, image, status, output, error
        case executedBy = "executed_by"
        case createdAt = "created_at"
        case completedAt = "completed_at"
    }

    init(_ job: JobRecord) {
        id = job.id
        command = job.command
        image = job.image
        status = job.status.rawValue
        executedBy = job.executedBy
        output = job.output
        error = job.error
        createdAt = Self.rfc3339(job.createdAtMs)
        completedAt = job.status.isTerminal ? Self.rfc3339(job.updatedAtMs) : nil
    }

    static func rfc3339(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
