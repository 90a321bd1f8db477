import BerthControlPlane

/// Cloud Hypervisor's REST API (`/api/v1`, OpenAPI document `cloud-hypervisor.yaml`), as Berth
/// drives it:
///
/// ```
/// cloud-hypervisor --api-socket <root>/launches/<id>/api.sock
/// PUT /api/v1/vm.create   VmConfig: cpus, memory, payload, disks, serial (File), console (Off)
/// PUT /api/v1/vm.boot
/// GET /api/v1/vm.info     until "state": "Running"
/// terminate: PUT /api/v1/vm.shutdown, PUT /api/v1/vmm.shutdown, then SIGKILL
/// ```
///
/// Success is 204 (200 with a body for `vm.info`); a failure is 4xx/5xx with a JSON array of
/// the error's messages (older releases: plain text).
public enum CloudHypervisorAPI {
    public static let root = "/api/v1"
    /// Answers `{"config": …, "state": "Created" | "Running" | "Shutdown" | "Paused" | …}`.
    public static let readiness = VMMAPIRequest("GET", root + "/vm.info")
    /// `vm.shutdown` stops the guest at once; `vmm.shutdown` then ends the process.
    public static let terminate = [
        VMMAPIRequest("PUT", root + "/vm.shutdown"), VMMAPIRequest("PUT", root + "/vmm.shutdown"),
    ]

    static func plan(spec: LaunchSpec, image: WorkloadImage, files: VMMFiles, program: String)
        throws(VMMPlanError) -> VMMLaunchPlan
    {
        // The option parser of `--api-socket` splits on commas.
        guard !files.socket.contains(",") else {
            throw VMMPlanError(code: .prepareFailed, detail: "\(files.socket): the API socket path cannot contain ','")
        }
        let console = spec.arch == .aarch64 ? "ttyAMA0" : "ttyS0"
        var payload: [String: VMMJSON] = [
            "kernel": .string(files.kernel), "cmdline": .string(image.cmdline ?? "console=\(console)"),
        ]
        if let initrd = files.initrd { payload["initramfs"] = .string(initrd) }
        var config: [String: VMMJSON] = [
            "cpus": .object(["boot_vcpus": .int(Int64(spec.vcpus)), "max_vcpus": .int(Int64(spec.vcpus))]),
            "memory": .object(["size": .int(Int64(spec.memoryMiB) << 20)]),
            "payload": .object(payload),
            // The serial port (ttyS0 / ttyAMA0) to a file; the virtio console is not created.
            "serial": .object(["mode": .string("File"), "file": .string(files.serialLog)]),
            "console": .object(["mode": .string("Off")]),
        ]
        if let disk = files.disk { config["disks"] = .array([.object(["path": .string(disk)])]) }
        return VMMLaunchPlan(
            kind: .cloudHypervisor, program: program, argv: [program, "--api-socket", files.socket],
            api: VMMAPIPlan(
                socket: files.socket,
                boot: [
                    VMMAPIRequest("PUT", root + "/vm.create", body: .object(config)),
                    VMMAPIRequest("PUT", root + "/vm.boot"),
                ],
                readiness: readiness, readyState: "Running", terminate: terminate),
            serialLog: files.serialLog, stdoutName: "stdout", precreated: [])
    }
}
