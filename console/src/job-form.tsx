// Creating and editing a job: a form of labelled fields (argument lists one per line, the environment as
// NAME=value lines). The API checks every value; a 4xx shows its message, and the field it names is marked
// invalid and described by that message.
import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, type CreateJobInput, type Job } from './api';
import { ErrorMessage } from './error-message';
import { Link } from './link';
import { navigate } from './router';
import { createJob, getJob, updateJob } from './runs-api';

interface JobFields {
  name: string;
  kind: 'image' | 'command';
  image: string;
  command: string;
  args: string;
  env: string;
  memoryMb: string;
  timeoutSeconds: string;
  maxAttempts: string;
  backoffSeconds: string;
}

const EMPTY: JobFields = {
  name: '',
  kind: 'command',
  image: '',
  command: '',
  args: '',
  env: '',
  memoryMb: '',
  timeoutSeconds: '',
  maxAttempts: '',
  backoffSeconds: '',
};

function fieldsOf(job: Job): JobFields {
  return {
    name: job.name,
    kind: job.image === null ? 'command' : 'image',
    image: job.image ?? '',
    command: job.command.join('\n'),
    args: job.args.join('\n'),
    env: Object.entries(job.env)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n'),
    memoryMb: String(job.resources.memoryMb),
    timeoutSeconds: String(job.timeoutSeconds),
    maxAttempts: String(job.retry.maxAttempts),
    backoffSeconds: String(job.retry.backoffSeconds),
  };
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '');

/** NAME=value lines as an object; a line without `=` is a name with an empty value. */
function envOf(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines(text)) {
    const at = line.indexOf('=');
    if (at === -1) env[line.trim()] = '';
    else env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return env;
}

const whole = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

function inputOf(fields: JobFields, editing: boolean): CreateJobInput {
  const input: CreateJobInput = { name: fields.name.trim() };
  if (fields.kind === 'image') input.image = fields.image.trim();
  else if (editing) input.image = null;
  const command = lines(fields.command);
  if (command.length > 0) input.command = command;
  input.args = lines(fields.args);
  input.env = envOf(fields.env);
  const memoryMb = whole(fields.memoryMb);
  if (memoryMb !== undefined) input.resources = { memoryMb };
  const timeoutSeconds = whole(fields.timeoutSeconds);
  if (timeoutSeconds !== undefined) input.timeoutSeconds = timeoutSeconds;
  const maxAttempts = whole(fields.maxAttempts);
  const backoffSeconds = whole(fields.backoffSeconds);
  if (maxAttempts !== undefined || backoffSeconds !== undefined) {
    input.retry = {};
    if (maxAttempts !== undefined) input.retry.maxAttempts = maxAttempts;
    if (backoffSeconds !== undefined) input.retry.backoffSeconds = backoffSeconds;
  }
  return input;
}

/** Which of the form's fields an API `field` (`resources.memoryMb`, `env.X`, `command.0`) is about. */
function formFieldOf(apiField: string | null): keyof JobFields | null {
  if (apiField === null) return null;
  const top = apiField.split('.')[0] ?? '';
  const byApi: Record<string, keyof JobFields> = {
    name: 'name',
    image: 'image',
    command: 'command',
    args: 'args',
    env: 'env',
    resources: 'memoryMb',
    timeoutSeconds: 'timeoutSeconds',
    retry: apiField.includes('backoff') ? 'backoffSeconds' : 'maxAttempts',
  };
  return byApi[top] ?? null;
}

export function JobFormPage({ apiKey, jobId }: { apiKey: string; jobId: string | null }) {
  const editing = jobId !== null;
  const [fields, setFields] = useState<JobFields | null>(editing ? null : EMPTY);
  const [error, setError] = useState<{ message: string; field: keyof JobFields | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const errorId = useId();

  useEffect(() => {
    if (jobId === null) return;
    let stopped = false;
    getJob(apiKey, jobId)
      .then((job) => {
        if (!stopped) setFields(fieldsOf(job));
      })
      .catch((e: Error) => {
        if (!stopped) setError({ message: e.message, field: null });
      });
    return () => {
      stopped = true;
    };
  }, [apiKey, jobId]);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (fields === null) return;
    setBusy(true);
    try {
      const input = inputOf(fields, editing);
      if (jobId === null) await createJob(apiKey, input);
      else await updateJob(apiKey, jobId, input);
      navigate('/jobs');
    } catch (e) {
      const field = e instanceof ApiError ? formFieldOf(e.field) : null;
      setError({ message: (e as Error).message, field });
    } finally {
      setBusy(false);
    }
  };

  const change = (patch: Partial<JobFields>): void =>
    setFields((before) => (before === null ? before : { ...before, ...patch }));
  const invalid = (name: keyof JobFields) =>
    error?.field === name ? { 'aria-invalid': true, 'aria-describedby': errorId } : {};

  return (
    <section>
      <p>
        <Link to="/jobs">← Jobs</Link>
      </p>
      <h1>{editing ? 'Edit job' : 'New job'}</h1>
      <div id={errorId}>
        <ErrorMessage error={error?.message ?? null} />
      </div>
      {fields !== null && (
        <form
          className="job-form"
          aria-label={editing ? 'Edit job' : 'New job'}
          onSubmit={(e) => void submit(e)}
        >
          <Field label="Name">
            <input
              value={fields.name}
              required
              autoComplete="off"
              onChange={(e) => change({ name: e.target.value })}
              {...invalid('name')}
            />
          </Field>
          <fieldset>
            <legend>Runs</legend>
            <label className="check">
              <input
                type="radio"
                name="kind"
                checked={fields.kind === 'command'}
                onChange={() => change({ kind: 'command' })}
              />
              A host command
            </label>
            <label className="check">
              <input
                type="radio"
                name="kind"
                checked={fields.kind === 'image'}
                onChange={() => change({ kind: 'image' })}
              />
              A container image
            </label>
          </fieldset>
          {fields.kind === 'image' && (
            <Field label="Image">
              <input
                value={fields.image}
                placeholder="docker.io/library/alpine:3.20"
                onChange={(e) => change({ image: e.target.value })}
                {...invalid('image')}
              />
            </Field>
          )}
          <Field label="Command (one argument per line)">
            <textarea
              rows={3}
              value={fields.command}
              onChange={(e) => change({ command: e.target.value })}
              {...invalid('command')}
            />
          </Field>
          <Field label="Arguments (one per line)">
            <textarea
              rows={3}
              value={fields.args}
              onChange={(e) => change({ args: e.target.value })}
              {...invalid('args')}
            />
          </Field>
          <Field label="Environment (NAME=value, one per line)">
            <textarea
              rows={3}
              value={fields.env}
              onChange={(e) => change({ env: e.target.value })}
              {...invalid('env')}
            />
          </Field>
          <Field label="Memory limit (MB)">
            <input
              type="number"
              inputMode="numeric"
              value={fields.memoryMb}
              placeholder="1024"
              onChange={(e) => change({ memoryMb: e.target.value })}
              {...invalid('memoryMb')}
            />
          </Field>
          <Field label="Timeout (seconds)">
            <input
              type="number"
              inputMode="numeric"
              value={fields.timeoutSeconds}
              onChange={(e) => change({ timeoutSeconds: e.target.value })}
              {...invalid('timeoutSeconds')}
            />
          </Field>
          <Field label="Attempts at most">
            <input
              type="number"
              inputMode="numeric"
              value={fields.maxAttempts}
              onChange={(e) => change({ maxAttempts: e.target.value })}
              {...invalid('maxAttempts')}
            />
          </Field>
          <Field label="Retry backoff (seconds)">
            <input
              type="number"
              inputMode="numeric"
              value={fields.backoffSeconds}
              onChange={(e) => change({ backoffSeconds: e.target.value })}
              {...invalid('backoffSeconds')}
            />
          </Field>
          <button type="submit" disabled={busy}>
            {editing ? 'Save job' : 'Create job'}
          </button>
        </form>
      )}
    </section>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="field">
      <span>{label}</span>
      {children}
    </label>
  );
}
