import type { TestContext } from './context';

/**
 * A recompute job as `GET /v1/jobs/{id}` answers it once it has ended (succeeded or failed),
 * polled every 50 ms for at most `seconds`.
 */
export async function jobEnded(ctx: Pick<TestContext, 'http'>, id: number, seconds = 60): Promise<Record<string, unknown>> {
  for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; ) {
    const job = (await ctx.http().get(`/v1/jobs/${id}`).expect(200)).body as Record<string, unknown>;
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not end within ${seconds} s`);
}
