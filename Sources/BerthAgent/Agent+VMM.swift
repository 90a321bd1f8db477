import BerthControlPlane
import Foundation
import Logging

// Cloud Hypervisor and Firecracker launches: the VMM process is started like a QEMU one, then
// the VM is configured, booted and watched through the VMM's REST API (`VMMBackend`).
extension Agent {
    /// preparing → starting (the argv and the API calls in the note) → the VMM spawned (its pid
    /// recorded) → the API calls → running once the API says `Running`.
    func launchThroughAPI(_ taken: LocalLaunch) {
        var launch = taken
        let launchID = launch.launchID
        func refuse(_ code: FailureCode, _ detail: String) {
            launch.move(to: .failed, reason: FailureReason(code: code, detail: detail))
            persist(launch)
        }
        launch.move(to: .preparing)
        persist(launch)
        let plan: VMMLaunchPlan
        do { plan = try vmm.plan(launchID: launchID, spec: launch.spec) } catch {
            return refuse(error.code, error.detail)
        }
        let calls = plan.api.boot.map(\.description).joined(separator: ", ")
        launch.move(to: .starting, note: "\(plan.argv.joined(separator: " ")); then \(calls)")
        persist(launch)
        do {
            let handle = try vmm.start(launchID: launchID, plan: plan)
            launch.process = handle
            persist(launch)
            logger.info(
                "VMM started",
                metadata: [
                    "launch": "\(launchID)", "backend": "\(plan.kind.rawValue)", "pid": "\(handle.workload.pid)",
                ])
            awaitVMMReadiness(launchID, launch.spec, handle, configure: plan.api)
        } catch {
            refuse(error.code, error.detail)
        }
    }

    /// Brings the VM up through its API (sending `configure`'s boot calls when given; a VM
    /// re-attached after an agent restart only has its readiness waited for), then records
    /// `running`. A VM refused by its API, or not running in time, fails with the typed reason,
    /// recorded before the VMM is killed (so the kill is not taken for the VM's own ending); a
    /// VMM that ends by itself first is left to the watch loop, which records its exit status.
    func awaitVMMReadiness(_ launchID: String, _ spec: LaunchSpec, _ handle: ProcessHandle, configure: VMMAPIPlan?) {
        let vmm = self.vmm
        let api =
            configure
            ?? VMMAPIPlan.control(kind: spec.backend, arch: spec.arch, socket: handle.apiSocketPath ?? "")
        Task {
            let started = ContinuousClock.now
            do throws(VMMAPIError) {
                try await vmm.bringUp(handle, api: api, configure: configure != nil)
                self.ready(
                    launchID,
                    note:
                        "\(api.readiness): state \(api.readyState) (\(ContinuousClock.now - started) after the spawn)")
            } catch {
                if case .exited = error { return }
                guard self.launches[launchID]?.state == .starting else { return }
                self.notReady(launchID, error.failure)
                self.logger.warning(
                    "VM did not come up", metadata: ["launch": "\(launchID)", "error": "\(error)"])
                _ = await vmm.killNow(handle)
            }
        }
    }

    /// The API's terminate calls, then SIGKILL; the watch loop records how it ended.
    func stopThroughAPI(_ launchID: String, _ spec: LaunchSpec, _ handle: ProcessHandle) {
        let vmm = self.vmm
        let api = handle.apiSocketPath.map { VMMAPIPlan.control(kind: spec.backend, arch: spec.arch, socket: $0) }
        Task {
            let (_, steps) = await vmm.terminate(handle, api: api)
            self.logger.info(
                "VM stopped", metadata: ["launch": "\(launchID)", "steps": "\(steps.joined(separator: ", "))"])
            self.stopped(launchID)
        }
    }
}
