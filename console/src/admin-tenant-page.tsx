import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { ApiKey, ApiKeyInfo, Tenant, TenantLimits } from './api';
import { createKey, listKeys, listTenants, revokeKey, updateLimits } from './admin-api';
import { ErrorMessage } from './error-message';
import { Link } from './link';

/** The numeric limits, in the order the form shows them, with their labels. */
const NUMBER_LIMITS: readonly [keyof TenantLimits, string][] = [
  ['runsPerSecond', 'Runs per second'],
  ['runBurst', 'Run burst'],
  ['maxJobs', 'Most jobs'],
  ['maxSchedules', 'Most schedules'],
  ['minIntervalSeconds', 'Shortest schedule interval (s)'],
  ['maxMemoryMb', 'Most memory per run (MB)'],
  ['maxTimeoutSeconds', 'Longest run timeout (s)'],
  ['maxWebhooks', 'Most webhooks'],
];

/** One tenant for an admin: its limits (editable) and its API keys (create, shown once; revoke). */
export function AdminTenantPage({ apiKey, tenantId }: { apiKey: string; tenantId: string }) {
  const [tenant, setTenant] = useState<Tenant | null>(null);
  const [keys, setKeys] = useState<ApiKeyInfo[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [all, tenantKeys] = await Promise.all([listTenants(apiKey), listKeys(apiKey, tenantId)]);
      const found = all.find((t) => t.id === tenantId) ?? null;
      if (found === null) throw new Error(`tenant ${tenantId} was not found`);
      setTenant(found);
      setKeys(tenantKeys);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [apiKey, tenantId]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section>
      <p>
        <Link to="/admin">← Tenants</Link>
      </p>
      <h1>Tenant {tenant?.name ?? tenantId}</h1>
      <ErrorMessage error={error} />
      {tenant !== null && (
        <>
          <LimitsForm
            tenant={tenant}
            save={async (limits) => setTenant(await updateLimits(apiKey, tenantId, limits))}
          />
          <KeysSection apiKey={apiKey} tenantId={tenantId} keys={keys} reload={load} />
        </>
      )}
    </section>
  );
}

function LimitsForm({
  tenant,
  save,
}: {
  tenant: Tenant;
  save: (limits: Partial<TenantLimits>) => Promise<void>;
}) {
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(NUMBER_LIMITS.map(([name]) => [name, String(tenant.limits[name])])),
  );
  const [hostCommands, setHostCommands] = useState(tenant.limits.allowHostCommands);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setSaved(false);
    setError(null);
    const limits: Partial<TenantLimits> = { allowHostCommands: hostCommands };
    for (const [name] of NUMBER_LIMITS) (limits as Record<string, number>)[name] = Number(values[name]);
    try {
      await save(limits);
      setSaved(true);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <form className="limits-form" onSubmit={submit}>
      <h2>Limits</h2>
      {NUMBER_LIMITS.map(([name, label]) => (
        <div key={name} className="field">
          <label htmlFor={`limit-${name}`}>{label}</label>
          <input
            id={`limit-${name}`}
            type="number"
            step="any"
            min="0"
            required
            value={values[name] ?? ''}
            onChange={(e) => setValues({ ...values, [name]: e.target.value })}
          />
        </div>
      ))}
      <div className="field">
        <label>
          <input type="checkbox" checked={hostCommands} onChange={(e) => setHostCommands(e.target.checked)} />{' '}
          May run host commands (jobs without an image)
        </label>
      </div>
      <button type="submit">Save limits</button>
      {saved && <p role="status">Limits saved.</p>}
      <ErrorMessage error={error} />
    </form>
  );
}

function KeysSection({
  apiKey,
  tenantId,
  keys,
  reload,
}: {
  apiKey: string;
  tenantId: string;
  keys: ApiKeyInfo[];
  reload: () => Promise<void>;
}) {
  const [name, setName] = useState('');
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const create = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    try {
      setCreated(await createKey(apiKey, tenantId, name.trim()));
      setName('');
      setError(null);
      await reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const revoke = async (keyId: string): Promise<void> => {
    try {
      await revokeKey(apiKey, keyId);
      setConfirming(null);
      setError(null);
      await reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <>
      <h2>API keys</h2>
      <ErrorMessage error={error} />
      <form className="inline-form" onSubmit={create}>
        <label htmlFor="key-name">New key name (optional)</label>
        <input id="key-name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit">Create key</button>
      </form>
      {created !== null && (
        <div className="new-key" role="status">
          <p>
            The new key, shown <strong>only this once</strong>: copy it now and keep it somewhere safe. The
            server keeps only its hash.
          </p>
          <code data-testid="new-key">{created.key}</code>{' '}
          <button
            type="button"
            onClick={() => void navigator.clipboard?.writeText(created.key).catch(() => {})}
          >
            Copy key
          </button>{' '}
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      <div className="table-scroll">
        <table aria-label="API keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <td>{key.name ?? '—'}</td>
                <td>
                  <code>{key.id}</code>
                </td>
                <td>{new Date(key.createdAt).toLocaleString()}</td>
                <td>{key.lastUsedAt === null ? 'never' : new Date(key.lastUsedAt).toLocaleString()}</td>
                <td>
                  {key.revokedAt !== null ? (
                    `revoked ${new Date(key.revokedAt).toLocaleString()}`
                  ) : confirming === key.id ? (
                    <span role="group" aria-label={`Confirm revoking ${key.id}`}>
                      Revoke it? Requests with it will be refused.{' '}
                      <button type="button" onClick={() => void revoke(key.id)}>
                        Yes, revoke
                      </button>{' '}
                      <button type="button" onClick={() => setConfirming(null)}>
                        Cancel
                      </button>
                    </span>
                  ) : (
                    <button
                      type="button"
                      aria-label={`Revoke key ${key.id}`}
                      onClick={() => setConfirming(key.id)}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
