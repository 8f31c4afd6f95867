// Compiled with `tsc --noEmit --strict`, never run: the package's declarations type the
// seed example and every result shape.
import {
  WasmJob,
  WasmSubscription,
  WasmSupervisorClient,
  type Job,
  type JobEvent,
  type JobRecord,
  type JobStatus,
  type JobResult,
  type JobStatusInfo,
  type MetricsHistory,
  type RunnerInfo,
  type Schedule,
  type SupervisorError,
  type SupervisorInfo,
} from 'hero-supervisor-openrpc-client';

export async function seed(): Promise<string> {
  const client = new WasmSupervisorClient('http://localhost:3030');
  const job = new WasmJob('job-id', 'print("Hello")', 'osis', 'osis_runner_1');
  const result: string = await client.create_job('user-secret', job);
  return result;
}

export async function shapes(client: WasmSupervisorClient, job: WasmJob): Promise<void> {
  job.timeout = 30;
  job.caller_id = 'me';
  job.env_vars = { A: '1' };
  const ran: JobResult = await client.job_run('s', job);
  const output: string = 'success' in ran ? ran.success : ran.error;
  const status: JobStatusInfo = await client.job_status('id');
  const final: boolean = ['completed', 'failed', 'stopped'].includes(status.status);
  const percent: number | undefined = status.progress?.percent;
  const jobs: Job[] = await client.jobs_list('s');
  const plain = { payload: '1', executor: 'osis', runner: 'r' };
  const ids: string[] = await client.jobs_create_many('s', [job, plain]);
  await client.jobs_create_many('s', [job], false);
  const schedule: Schedule = await client.schedules_create('s', {
    name: 'nightly',
    cron: '0 3 * * *',
    job: plain,
  });
  const next: string | undefined = schedule.next_tick;
  const schedules: Schedule[] = await client.schedules_list('s');
  await client.schedules_delete('s', schedules[0].name);
  const runners: RunnerInfo[] = await client.list_runners('s');
  const pid: number | null = runners[0].pid;
  const info: SupervisorInfo = await client.get_supervisor_info('s');
  const history: MetricsHistory = await client.metrics_history('s');
  const p95: number | null = history.samples[0].wait_p95_ms;
  const logs: string[] = await client.get_runner_logs('s', 'r', 10);
  const nothing: void = await client.job_start('s', 'id');
  await client.stop_runner('s', 'r');
  await client.register_runner('s', 'name');
  await client.register_runner('s', 'name', undefined, 'admin');
  const unregistered: void = await client.unregister_runner('s', 'name');
  const bounded: WasmSupervisorClient = client.with_timeout(1000).with_wait_timeout(5000);
  console.log(output, final, percent, jobs.length, ids, pid, info.version, history.interval_secs, p95, logs, nothing, unregistered, bounded.url);
}

export async function listing(client: WasmSupervisorClient): Promise<JobStatus[]> {
  const records: JobRecord[] = await client.jobs_list('s', { status: ['queued', 'running'], limit: 10 });
  const next: JobRecord[] = await client.jobs_list('s', { runner: 'r', before: records[0].id });
  await client.jobs_list('s', null);
  return [...records, ...next].map((job) => job.status);
}

export async function subscriptions(client: WasmSupervisorClient, ws: new (url: string) => object): Promise<void> {
  const live: WasmSupervisorClient = client.with_websocket(ws);
  client.with_websocket(WebSocket);
  const logs: WasmSubscription<string> = await live.runner_logs_subscribe('s', 'r', (line: string) => line.length);
  const id: string = logs.id;
  await logs.close();
  await logs.closed;
  for await (const line of await live.runner_logs_subscribe('s', 'r', null, 10)) {
    const text: string = line;
    console.log(id, text);
  }
  const events = await live.jobs_subscribe('s', { job_ids: ['a'], status: ['completed', 'failed'] });
  for await (const event of events) {
    const e: JobEvent = event;
    const done: boolean = e.result !== undefined && 'success' in e.result;
    const percent: number | undefined = e.progress?.percent;
    console.log(e.job_id, e.runner, e.status, e.at, done, percent);
  }
  await live.jobs_subscribe('s', null, (event: JobEvent) => console.log(event.status));
  await live.jobs_subscribe('s');
}


// Each line below must fail to compile: the declarations are precise, not `any`.
export async function mistakes(client: WasmSupervisorClient, job: WasmJob): Promise<void> {
  // @ts-expect-error a job id is a string
  const id: number = await client.create_job('s', job);
  // @ts-expect-error a result has no `output`
  const output = (await client.job_run('s', job)).output;
  // @ts-expect-error the ids are strings
  const many: number[] = await client.jobs_create_many('s', [job]);
  // @ts-expect-error not a status
  const never: JobStatusInfo['status'] = 'done';
  // @ts-expect-error the timeout is a number of seconds
  job.timeout = '30';
  // @ts-expect-error a limit is a number
  await client.jobs_list('s', { limit: '10' });
  // @ts-expect-error no such filter field
  await client.jobs_list('s', { stauts: 'queued' });
  // @ts-expect-error not a status
  await client.jobs_list('s', { status: 'done' });
  // @ts-expect-error a log line is a string
  await client.runner_logs_subscribe('s', 'r', (line: number) => line);
  // @ts-expect-error an event's status is a JobStatus
  await client.jobs_subscribe('s', { job_ids: 'a' });
  const events = await client.jobs_subscribe('s');
  for await (const event of events) {
    // @ts-expect-error events have no payload
    console.log(event.payload);
  }
  console.log(id, many, output, never);
}

export function describe(error: unknown): string {
  const e = error as SupervisorError;
  const code: number | null = e.code;
  return `${e.kind} ${code} ${e.message} ${e.retryable}`;
}
