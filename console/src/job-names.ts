// Job names by id, for the pages that list runs (a run names its job by id only). One page of jobs (the
// API's most) is read once per page view; a job not in it (deleted, or beyond the page) shows by its id.
import { useEffect, useState } from 'react';
import { getJson, type Job, type Page } from './api';

export function useJobNames(apiKey: string): (jobId: string) => string {
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => {
    let stopped = false;
    getJson<Page<Job>>(apiKey, '/v1/jobs?limit=500')
      .then((page) => {
        if (!stopped) setNames(new Map(page.items.map((job) => [job.id, job.name])));
      })
      // The names are a convenience: without them the ids show, and the page reports its own errors.
      .catch(() => {});
    return () => {
      stopped = true;
    };
  }, [apiKey]);
  return (jobId) => names.get(jobId) ?? jobId;
}
