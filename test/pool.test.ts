import { describe, expect, it } from 'vitest';
import { Limiter } from '../src/util/pool.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('Limiter', () => {
  it('runs at most its size of tasks at once, and every task to its own end', async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let most = 0;
    const task = async (value: number) => {
      most = Math.max(most, ++running);
      await tick();
      running--;
      return value * 10;
    };
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((value) => limiter.run(() => task(value))));
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(most).toBe(2);
  });

  it('frees the slot of a task that fails', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('bad file')))).rejects.toThrow('bad file');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });
});
