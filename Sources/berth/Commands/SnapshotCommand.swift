import ArgumentParser
import BerthServer
import BerthStorage
import Foundation

/// `berth snapshot save|restore`: whole-cluster backup and disaster recovery.
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Back up a cluster's state to a file, or build a new cluster from one.",
        subcommands: [SnapshotSaveCommand.self, SnapshotRestoreCommand.self])

    static let exitStatusHelp = """
        Exit status: 0 done; 1 the server refused the request (its error code is printed); 64 usage \
        error; 65 the backup file is damaged (BACKUP_CHECKSUM_MISMATCH, BACKUP_CORRUPT, \
        BACKUP_UNSUPPORTED_VERSION) or the data directory is not empty (DATA_DIR_NOT_EMPTY), or the \
        restore failed (RESTORE_FAILED, BACKUP_IO); 69 the cluster is unreachable.
        """
}

struct SnapshotSaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Save a consistent snapshot of the whole state, taken through the leader, to FILE.",
        discussion: "Needs a token with the admin role when the servers use --token-file. The file carries "
            + "a format version, the applied index and term, the cluster id and a CRC-32C; it is written "
            + "to a temporary file, fsynced and renamed, so FILE is never half-written.\n\n"
            + SnapshotCommand.exitStatusHelp)

    @Argument(help: ArgumentHelp("Where to write the backup.", valueName: "file")) var file: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().send("GET", "/api/cluster/snapshot", maxBytes: 1 << 40)
            guard answer.isSuccess else { throw CLIError.refused(answer) }
            let backup: BackupFile
            do throws(BackupError) {
                backup = try BackupFile.decode(answer.bytes)
            } catch {
                throw CLIError.dataError(code: error.code, message: "the server's answer: \(error.message)")
            }
            do throws(BackupError) {
                try BackupFile.writeAtomically(answer.bytes, to: file)
            } catch {
                throw CLIError.dataError(code: error.code, message: error.message)
            }
            let summary: [String: Any] = [
                "file": file, "applied_index": backup.applied.index, "applied_term": backup.applied.term,
                "cluster_id": backup.clusterID, "bytes": answer.bytes.count, "server": answer.server,
            ]
            switch client.output {
            case .json:
                let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
                Output.json(String(decoding: data, as: UTF8.self))
            case .table:
                Output.line(
                    "saved \(file): cluster \(backup.clusterID), applied index \(backup.applied.index) "
                        + "(term \(backup.applied.term)), \(answer.bytes.count) bytes, from \(answer.server)")
            }
        }
    }
}

struct SnapshotRestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Build a new cluster's data directory for one node from a backup.",
        discussion: """
            Run once per node of the new cluster, with the same FILE and --peers, then start every \
            node with `berth server --node-id N --data-dir DIR --peers …` (the same peers). The \
            new cluster has the backup's state, the membership of --peers, and fresh incarnations: \
            it is founded by the lowest id like any new cluster, and shares nothing with the old \
            one. The checksum is verified first; DIR must be empty or absent.

            """ + SnapshotCommand.exitStatusHelp)

    @Argument(help: ArgumentHelp("The backup written by `berth snapshot save`.", valueName: "file")) var file: String
    @Option(help: ArgumentHelp("The new node's data directory (empty or absent).", valueName: "dir"))
    var dataDir: String
    @Option(help: "The new node's id (one of --peers).") var nodeID: UInt64
    @Option(
        help: ArgumentHelp(
            "The new cluster's members, as `berth server --peers` takes them.", valueName: "id=host:port,…"))
    var peers: String
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("table or json.", valueName: "format"))
    var output: OutputFormat = .table

    func run() async throws {
        try await runClient(output: output) {
            let peerMap: [UInt64: HostPort]
            do { peerMap = try ServerConfig.parsePeers(peers) } catch {
                throw CLIError.usage("--peers: \(error)")
            }
            guard peerMap[nodeID] != nil else {
                throw CLIError.usage("--peers does not include --node-id \(nodeID)")
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIError.usage("cannot read \(file)")
            }
            let report: ClusterRestore.Report
            do throws(BackupError) {
                let backup = try BackupFile.decode(Array(data))
                report = try ClusterRestore.restore(backup, dataDirectory: dataDir, nodeID: nodeID)
            } catch {
                throw CLIError.dataError(code: error.code, message: error.message)
            }
            let incarnation = String(report.incarnation, radix: 16)
            switch output {
            case .json:
                let summary: [String: Any] = [
                    "data_dir": dataDir, "node_id": nodeID, "applied_index": report.applied.index,
                    "applied_term": report.applied.term, "cluster_id": report.clusterID, "incarnation": incarnation,
                ]
                let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
                Output.json(String(decoding: json, as: UTF8.self))
            case .table:
                Output.line(
                    "restored \(dataDir) for node \(nodeID): state at index \(report.applied.index) "
                        + "(term \(report.applied.term)) of cluster \(report.clusterID), new incarnation \(incarnation)"
                )
                Output.line("start it with: berth server --node-id \(nodeID) --data-dir \(dataDir) --peers \(peers)")
            }
        }
    }
}
