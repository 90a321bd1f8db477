import BerthControlPlane
import GRDB

/// A job is one row of `jobs`; its coding keys are the column names.
extension JobRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "jobs"
}
