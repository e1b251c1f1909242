// The console's calls of the schedule routes (docs/api.md "## Schedules"): list, read, preview, the ticks
// explanation, pause and resume (one, or many at once), run a tick now, create, change and delete.

import {
  getJson,
  postJson,
  send,
  type CreateScheduleInput,
  type Page,
  type PreviewFire,
  type Run,
  type Schedule,
  type ScheduleSelection,
  type TicksPage,
} from './api';

const path = (id: string): string => `/v1/schedules/${encodeURIComponent(id)}`;

/** Every schedule of the tenant, or of one job, oldest first (pages of 500 followed to the end). */
export async function listSchedules(key: string, jobId: string | null): Promise<Schedule[]> {
  const all: Schedule[] = [];
  for (let cursor: string | null = null; ;) {
    const query = new URLSearchParams({ limit: '500' });
    if (jobId !== null) query.set('jobId', jobId);
    if (cursor !== null) query.set('cursor', cursor);
    const page: Page<Schedule> = await getJson<Page<Schedule>>(key, `/v1/schedules?${query.toString()}`);
    all.push(...page.items);
    if (page.nextCursor === null) return all;
    cursor = page.nextCursor;
  }
}

export const getSchedule = (key: string, id: string): Promise<Schedule> => getJson(key, path(id));

export async function previewSchedule(key: string, id: string, count: number): Promise<PreviewFire[]> {
  return (await getJson<{ items: PreviewFire[] }>(key, `${path(id)}/preview?count=${count}`)).items;
}

/** The schedule's ticks of the last hour with their verdicts (the API's default window). */
export const explainTicks = (key: string, id: string): Promise<TicksPage> =>
  getJson(key, `${path(id)}/ticks`);

export const pauseSchedule = (key: string, id: string): Promise<Schedule> =>
  postJson(key, `${path(id)}/pause`);

export const resumeSchedule = (key: string, id: string): Promise<Schedule> =>
  postJson(key, `${path(id)}/resume`);

/** Pauses or resumes every selected schedule at once: all of them change, or (an error) none does. */
export async function changeSchedules(
  key: string,
  action: 'pause' | 'resume',
  selection: ScheduleSelection,
): Promise<Schedule[]> {
  return (await postJson<{ items: Schedule[] }>(key, `/v1/schedules/${action}`, selection)).items;
}

/** Runs the schedule's job now, by hand, with the schedule's args and env. */
export const runScheduleNow = (key: string, id: string): Promise<Run> => postJson(key, `${path(id)}/runs`);

export const createSchedule = (key: string, jobId: string, input: CreateScheduleInput): Promise<Schedule> =>
  postJson(key, `/v1/jobs/${encodeURIComponent(jobId)}/schedules`, input);

export async function updateSchedule(key: string, id: string, input: CreateScheduleInput): Promise<Schedule> {
  return (await (await send(key, 'PATCH', path(id), input)).json()) as Schedule;
}

export async function deleteSchedule(key: string, id: string): Promise<void> {
  await send(key, 'DELETE', path(id));
}
