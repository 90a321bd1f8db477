import BerthControlPlane
import Foundation
import Logging

// Envelopes (spec §5): the host's truth, sent on start, on every change, and every
// `envelopeInterval` so the control plane never counts it stale.
extension Agent {
    func envelopeLoop() async {
        var kvm = await takeKVMProbe()
        var kvmTakenAt = ContinuousClock.now
        var backends = await discoverBackends()
        var backendsTakenAt = ContinuousClock.now
        var lastSent: HostFingerprint?
        var lastSentAt = ContinuousClock.now
        var backoff = Backoff()
        var retryAt = ContinuousClock.now
        while !Task.isCancelled {
            if fixture == nil, ContinuousClock.now - kvmTakenAt >= configuration.kvmReprobeInterval {
                kvm = await takeKVMProbe()
                kvmTakenAt = ContinuousClock.now
            }
            if fixture == nil, ContinuousClock.now - backendsTakenAt >= configuration.backendRescanInterval {
                backends = await discoverBackends()
                backendsTakenAt = ContinuousClock.now
            }
            let fingerprint: HostFingerprint
            do {
                fingerprint = try fixture ?? probe.fingerprint(kvm: kvm, backends: backends)
            } catch {
                logger.error("cannot fingerprint the host", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: configuration.envelopeInterval)
                continue
            }
            let due = fingerprint != lastSent || ContinuousClock.now - lastSentAt >= configuration.envelopeInterval
            if due, ContinuousClock.now >= retryAt {
                if fingerprint != lastSent { recordFingerprint(fingerprint) }
                if await push(fingerprint, quiet: backoff.failures > 0) {
                    lastSent = fingerprint
                    lastSentAt = ContinuousClock.now
                    backoff.succeeded()
                } else {
                    retryAt = ContinuousClock.now + backoff.failed()
                }
            }
            try? await Task.sleep(for: configuration.fingerprintInterval)
        }
    }

    /// Backend discovery runs each binary and waits for it: off the actor, so actions and
    /// reports are not held up meanwhile.
    func discoverBackends() async -> [InstalledBackend] {
        let probe = self.probe
        return await Task.detached { probe.discoverBackends() }.value
    }

    func takeKVMProbe() async -> KVMProbeResult {
        if let fixture {
            return KVMProbeResult(
                present: fixture.kvm.present, usable: fixture.kvm.usable, apiVersion: nil,
                evidence: fixture.kvmEvidence, elapsedMs: 0)
        }
        let result = await probe.probeKVM()
        logger.info(
            "KVM probe",
            metadata: [
                "present": "\(result.present)", "usable": "\(result.usable)", "evidence": "\(result.evidence)",
            ])
        return result
    }

    /// `fingerprint.json` under the root: what the agent reports, with the KVM evidence the
    /// envelope has no member for.
    func recordFingerprint(_ fingerprint: HostFingerprint) {
        let envelope = fingerprint.envelope(nodeID: configuration.nodeID, sequence: 1, observedAtMs: 0)
        guard let encoded = try? JSONEncoder().encode(envelope),
            var fields = (try? JSONSerialization.jsonObject(with: encoded)) as? [String: Any],
            let path = try? root.resolve("fingerprint.json")
        else { return }
        fields["sequence"] = nil
        fields["observed_at"] = nil
        fields["kvm_evidence"] = fingerprint.kvmEvidence
        guard
            let bytes = try? JSONSerialization.data(
                withJSONObject: fields, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        else { return }
        try? AtomicFile.write(Array(bytes), to: path)
    }

    /// Sends one envelope. Its sequence is fresh, or the one a failed send already used: an
    /// envelope whose answer was lost may have been applied, and reusing its number keeps a
    /// retry from applying twice while not burning numbers while the servers are down. After a
    /// STALE_SEQUENCE (the root was wiped, another agent used this node id, or the lost send did
    /// apply) it continues above the stored sequence once.
    func push(_ fingerprint: HostFingerprint, quiet: Bool) async -> Bool {
        var floor: UInt64?
        for _ in 0..<2 {
            let number: UInt64
            do {
                if let unacknowledged = unacknowledgedSequence, floor == nil {
                    number = unacknowledged
                } else {
                    number = try sequence.next(atLeast: floor ?? 0)
                }
                unacknowledgedSequence = number
            } catch {
                logger.error("cannot record the envelope sequence", metadata: ["error": "\(error)"])
                return false
            }
            let envelope = fingerprint.envelope(
                nodeID: configuration.nodeID, sequence: number, observedAtMs: Self.nowMs())
            guard let body = try? JSONEncoder().encode(envelope) else { return false }
            do {
                let answer = try await servers.send("POST", "/api/v1alpha1/intake/envelope", body: Array(body))
                if answer.isSuccess {
                    unacknowledgedSequence = nil
                    return true
                }
                if answer.errorCode == "STALE_SEQUENCE",
                    let stored = answer.json?["error"]?["details"]?["stored_sequence"]?.integer, stored >= 0
                {
                    floor = UInt64(stored)
                    continue
                }
                logger.warning(
                    "envelope refused",
                    metadata: ["status": "\(answer.status)", "body": "\(String(decoding: answer.body, as: UTF8.self))"])
                return false
            } catch {
                if !quiet { logger.warning("envelope not delivered", metadata: ["error": "\(error)"]) }
                return false
            }
        }
        return false
    }

    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
