import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Tenant } from './api';
import { createTenant, listTenants } from './admin-api';
import { ErrorMessage } from './error-message';
import { Link } from './link';
import { navigate } from './router';

/** The admin's landing page: every tenant with its plan limits, and a form for a new tenant. */
export function AdminTenantsPage({ apiKey }: { apiKey: string }) {
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setTenants(await listTenants(apiKey));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [apiKey]);

  useEffect(() => {
    void load();
  }, [load]);

  const create = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    try {
      const tenant = await createTenant(apiKey, name.trim());
      navigate(`/admin/tenants/${tenant.id}`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <section>
      <h1>Tenants</h1>
      <ErrorMessage error={error} />
      <form className="inline-form" onSubmit={create}>
        <label htmlFor="tenant-name">New tenant name</label>
        <input id="tenant-name" required value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={name.trim() === ''}>
          Create tenant
        </button>
      </form>
      {tenants === null && error === null && <p>Loading…</p>}
      {tenants !== null && (
        <div className="table-scroll">
          <table aria-label="Tenants">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Runs/s (burst)</th>
                <th scope="col">Jobs</th>
                <th scope="col">Schedules (min interval)</th>
                <th scope="col">Memory, timeout</th>
                <th scope="col">Webhooks</th>
                <th scope="col">Host commands</th>
              </tr>
            </thead>
            <tbody>
              {tenants.map((tenant) => (
                <tr key={tenant.id}>
                  <td>
                    <Link to={`/admin/tenants/${tenant.id}`}>{tenant.name}</Link>
                  </td>
                  <td>
                    {tenant.limits.runsPerSecond} ({tenant.limits.runBurst})
                  </td>
                  <td>{tenant.limits.maxJobs}</td>
                  <td>
                    {tenant.limits.maxSchedules} ({tenant.limits.minIntervalSeconds} s)
                  </td>
                  <td>
                    {tenant.limits.maxMemoryMb} MB, {tenant.limits.maxTimeoutSeconds} s
                  </td>
                  <td>{tenant.limits.maxWebhooks}</td>
                  <td>{tenant.limits.allowHostCommands ? 'allowed' : 'not allowed'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
