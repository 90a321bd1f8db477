import BerthControlPlane

/// The rules' refusals in their stored and answered form: one case each, so codes, messages
/// and statuses stay what clients and the idempotency table already hold.
extension CommandRejection {
    public init(_ refusal: JobRefusal) {
        switch refusal {
        case .notFound(let id): self = .jobNotFound(id: id)
        case .alreadyExists(let id): self = .jobAlreadyExists(id: id)
        case .alreadyTerminal(let id, let status): self = .jobAlreadyTerminal(id: id, status: status)
        case .illegalTransition(let id, let from, let to): self = .illegalTransition(id: id, from: from, to: to)
        case .tooManyRuns(let id, let active, let limit): self = .tooManyRuns(id: id, active: active, limit: limit)
        case .dependencyNotSatisfied(let id, let dependency, let status):
            self = .dependencyNotSatisfied(id: id, dependency: dependency, status: status)
        }
    }

    public init(_ refusal: LaunchRefusal) {
        switch refusal {
        case .notFound(let id): self = .launchNotFound(id: id)
        case .exists(let id): self = .launchExists(id: id)
        case .planStale(let expected, let changedAt): self = .planStale(expected: expected, changedAt: changedAt)
        case .placementStale(let nodeID, let reasons): self = .placementStale(nodeID: nodeID, reasons: reasons)
        case .noEligibleNode(let launchID): self = .noEligibleNode(launchID: launchID)
        case .transitionRefused(let id, let error):
            self = .launchTransitionRefused(id: id, code: error.code, message: error.message, status: error.httpStatus)
        case .notOnNode(let id, let nodeID, let reporter):
            self = .launchNotOnNode(id: id, nodeID: nodeID, reporter: reporter)
        case .schedulerPaused(let launchID): self = .schedulerPaused(launchID: launchID)
        }
    }
}
