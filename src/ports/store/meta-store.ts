// Store-wide key/value facts about the deployment itself (when it was bootstrapped, the schema answering
// readiness), not about any tenant.

export interface MetaStore {
  getMeta(key: string): Promise<string | null>;
  /** An upsert: of concurrent calls for one key, the last to commit wins. */
  setMeta(key: string, value: string): Promise<void>;
}
