import BerthControlPlane
import Foundation
import Logging

/// The node agent (spec §6): reports its host's truth, takes its actions from the control
/// plane, carries them out with its backends (`process`, `qemu`, `cloud-hypervisor`,
/// `firecracker`), and reports every transition. What it runs is recorded under the root, so a
/// restarted agent re-attaches instead of launching again.
public actor Agent {
    public let configuration: AgentConfiguration
    let root: AgentRoot
    let backend: ProcessBackend
    let qemu: QEMUBackend
    /// Cloud Hypervisor and Firecracker.
    let vmm: VMMBackend
    let store: LaunchStore
    let servers: ServerPool
    let sequence: SequenceFile
    let probe: HostProbe
    let fixture: HostFingerprint?
    let logger: Logger
    var launches: [String: LocalLaunch] = [:]
    /// Terminates in progress, so a re-offered terminate does not signal twice.
    var stopping: Set<String> = []
    /// The orphans last recorded (see `scanOrphans`).
    var knownOrphans: [Orphan] = []
    /// The orphans the control plane last acknowledged (nil: none yet), the sweep to report
    /// done, the sweeps already carried out, and whether a report is under way.
    var reportedOrphans: [Orphan]?
    var sweepToReport: UInt64?
    var sweepsDone: Set<UInt64> = []
    var reportingOrphans = false
    /// A report flush is under way / another was asked for meanwhile (see `flushSoon`).
    var flushing = false
    var flushRequested = false
    /// The sequence of an envelope sent without a known outcome (see `push`).
    var unacknowledgedSequence: UInt64?

    public init(configuration: AgentConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        root = try AgentRoot(configuration.rootPath)
        backend = ProcessBackend(root: root, outputLimit: configuration.outputLimitBytes)
        var qemu = QEMUBackend(processes: backend)
        qemu.readinessTimeout = configuration.vmReadinessTimeout
        qemu.powerdownGrace = configuration.vmPowerdownGrace
        self.qemu = qemu
        var vmm = VMMBackend(processes: backend)
        if let path = configuration.vmmSearchPath { vmm.searchPath = path }
        vmm.socketTimeout = configuration.vmmSocketTimeout
        vmm.readinessTimeout = configuration.vmReadinessTimeout
        vmm.shutdownGrace = configuration.vmPowerdownGrace
        self.vmm = vmm
        store = LaunchStore(backend: backend)
        servers = ServerPool(servers: configuration.servers)
        sequence = SequenceFile(path: try root.resolve("sequence"))
        var probe = HostProbe()
        probe.labels = configuration.labels
        probe.reservedCPUs = configuration.reservedCPUs
        probe.reservedMemoryMiB = configuration.reservedMemoryMiB
        self.probe = probe
        if let path = configuration.fixturePath {
            var fixed = try FingerprintFixture.read(path: path)
            fixed.labels.merge(configuration.labels) { _, flag in flag }
            fixture = fixed
        } else {
            fixture = nil
        }
    }

    /// Runs until cancelled.
    public func run() async throws {
        rehydrate()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.envelopeLoop() }
            group.addTask { await self.actionLoop() }
            group.addTask { await self.watchLoop() }
            await group.waitForAll()
        }
    }

    // MARK: Recovery

    /// Takes back the launches recorded under the root: a process still alive (same pid, same
    /// start time) is re-attached and reported, never started again.
    func rehydrate() {
        let (recorded, unreadable) = store.loadAll()
        for path in unreadable { logger.error("unreadable launch record", metadata: ["path": "\(path)"]) }
        for var launch in recorded {
            if launch.process == nil, launch.state == .starting, let found = findStartedWorkload(launch.launchID) {
                // `starting` is recorded before the spawn and the pid after it: the agent died in
                // between, and the workload is found by its marker instead of started again.
                launch.process = found
                if launch.spec.backend == .qemu {
                    // Readiness is QMP's to say: waited for again below.
                    launch.process?.qmpSocketPath = (try? backend.launchDirectory(launch.launchID)).map {
                        $0 + "/qmp.sock"
                    }
                } else if launch.spec.backend.isVirtualMachine {
                    // Readiness is the VMM API's to say: waited for again below.
                    launch.process?.apiSocketPath = (try? backend.launchDirectory(launch.launchID)).map {
                        $0 + "/api.sock"
                    }
                } else {
                    launch.move(
                        to: .running, note: "pid \(found.workload.pid), found by its marker after an agent restart")
                }
                persist(launch)
            } else if launch.process == nil, launch.state == .preparing || launch.state == .starting {
                // Nothing carries its marker: it never started, or it already ended. Either way
                // it is reported failed rather than started a second time.
                launch.move(
                    to: .failed,
                    reason: FailureReason(
                        code: .agentError,
                        detail: "the agent restarted while the launch was \(launch.state.rawValue)"))
                persist(launch)
            }
            if launch.state == .starting, launch.spec.backend == .qemu, var process = launch.process {
                // Started, not yet seen running on QMP: wait for it again.
                if process.qmpSocketPath == nil, let directory = try? backend.launchDirectory(launch.launchID) {
                    process.qmpSocketPath = directory + "/qmp.sock"
                    launch.process = process
                }
                launches[launch.launchID] = launch
                awaitReadiness(launch.launchID, process)
            }
            if launch.state == .starting, launch.spec.backend.isVirtualMachine, launch.spec.backend != .qemu,
                let process = launch.process
            {
                // Its API calls may or may not have been sent: they are not sent twice; the VM
                // is waited for, and stopped READINESS_TIMEOUT if it never runs.
                launches[launch.launchID] = launch
                awaitVMMReadiness(launch.launchID, launch.spec, process, configure: nil)
            }
            if let process = launch.process, !launch.state.isTerminal {
                let alive = process.workload.isAlive()
                logger.info(
                    "rehydrated launch",
                    metadata: [
                        "launch": "\(launch.launchID)", "pid": "\(process.workload.pid)", "alive": "\(alive)",
                    ])
            }
            launches[launch.launchID] = launch
        }
        scanOrphans()
    }

    /// Records `launch` in memory and on disk.
    func persist(_ launch: LocalLaunch) {
        launches[launch.launchID] = launch
        do {
            try store.save(launch)
        } catch {
            logger.error("cannot record launch", metadata: ["launch": "\(launch.launchID)", "error": "\(error)"])
        }
        // A transition is reported now, not at the watch loop's next tick.
        if !launch.unreported.isEmpty { flushSoon() }
    }

    /// The launches as the agent holds them (for tests and diagnostics).
    public func snapshot() -> [LocalLaunch] {
        launches.values.sorted { $0.launchID < $1.launchID }
    }
}
