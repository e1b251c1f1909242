// The runs-due gauge on a real SQLite store: the fleet's runs due within 1, 5 and 15 minutes, every tenant's
// schedules counted, and a change of schedule seen at the next refresh (the grouped read is not reused).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { ForecastService } from '../../src/services/forecast-service.js';
import { JobService } from '../../src/services/job-service.js';
import { RunsDueGauge } from '../../src/services/runs-due-gauge.js';
import { ScheduleService } from '../../src/services/schedule-service.js';
import { TenantService } from '../../src/services/tenant-service.js';
import { ManualClock } from '../support/manual-clock.js';
import { SQLITE_STORE } from '../support/store-factories.js';
import { silentLogger } from '../support/worker-fixtures.js';

describe('runs-due gauge', () => {
  it('sums the fleet over 1m, 5m and 15m, and follows a schedule change', async () => {
    const location = await SQLITE_STORE.createLocation();
    const { store } = await location.open();
    try {
      const clock = new ManualClock('2026-12-02T10:00:00.500Z');
      const changes = new InProcessScheduleChanges();
      const jobs = new JobService(store, new InProcessRunSignals(), clock, changes);
      const schedules = new ScheduleService(store, jobs, changes, clock);
      const tenants = new TenantService(store, clock);
      const values = new Map<string, number>();
      const gauge = new RunsDueGauge(
        new ForecastService(store, clock),
        { set: ({ within }, value) => values.set(within, value) },
        clock,
        silentLogger,
      );
      const made: { tenantId: string; id: string }[] = [];
      for (const name of ['one', 'two']) {
        const tenant = await tenants.createTenant(name, { allowHostCommands: true });
        await jobs.createJob(tenant, { name: 'tick', command: ['true'] });
        made.push(await schedules.create(tenant, 'tick', { cron: '*/10 * * * * *' }));
        if (name === 'two') await schedules.create(tenant, 'tick', { cron: '0 */5 * * * *' });
      }
      await gauge.refresh();
      // Two schedules six times a minute; 10:00:00 has passed, the next */5 tick is 10:05:00 (within 5m is
      // before 10:05:00.500), then 10:10:00.
      assert.deepEqual(Object.fromEntries(values), { '1m': 12, '5m': 61, '15m': 183 });
      const [first] = made;
      assert.ok(first !== undefined);
      await schedules.delete(first.tenantId, first.id);
      await gauge.refresh();
      assert.deepEqual(Object.fromEntries(values), { '1m': 6, '5m': 31, '15m': 93 });
    } finally {
      await store.close();
      await location.destroy();
    }
  });
});
