import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listenToLog, logger } from '../logger';
import { AgentEvents } from './agent-events';
import { EventQueue } from './event-queue';

/** Swallows the logger's synchronous writes to fd 2 (see logger.ts), reporting them fully written. */
function silenceStderr() {
  return vi
    .spyOn(fs, 'writeSync')
    .mockImplementation((_fd: number, data: string | NodeJS.ArrayBufferView) =>
      typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength,
    );
}

describe('AgentEvents', () => {
  afterEach(() => {
    listenToLog(undefined);
    vi.restoreAllMocks();
  });

  function listening(): { queue: EventQueue; events: AgentEvents } {
    const queue = new EventQueue(50);
    const events = new AgentEvents(queue);
    listenToLog((level, message, error) => events.recordLog(level, message, error));
    return { queue, events };
  }

  it('turns the warnings and errors the agent logs into log.warn (important) and log.error (emergency) events', () => {
    silenceStderr();
    const { queue } = listening();
    logger.info('not an event');
    logger.warn('disk is slow');
    logger.error({ err: new Error('boom') }, 'it broke');
    logger.fatal(new Error('fatal boom'), 'it died');
    expect(queue.take(10).events).toEqual([
      { time: expect.any(Number), level: 'important', type: 'log.warn', message: 'disk is slow' },
      {
        time: expect.any(Number),
        level: 'emergency',
        type: 'log.error',
        message: 'it broke',
        attributes: { error: 'boom' },
      },
      {
        time: expect.any(Number),
        level: 'emergency',
        type: 'log.error',
        message: 'it died',
        attributes: { error: 'fatal boom' },
      },
    ]);
  });

  it('reports a fact once: logged at the level matching the event, recorded as its own type and not as log.*', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const { queue, events } = listening();
    events.report('important', 'plugin.failed', 'plugin x skipped', { plugin: 'x' }, new Error('bad entry'));
    expect(warn).toHaveBeenCalledWith({ err: expect.any(Error) }, 'plugin x skipped');
    expect(queue.take(10).events).toEqual([
      {
        time: expect.any(Number),
        level: 'important',
        type: 'plugin.failed',
        message: 'plugin x skipped',
        attributes: { plugin: 'x', error: 'bad entry' },
      },
    ]);
  });

  it('keeps a failing listener from breaking logging', () => {
    const write = silenceStderr();
    listenToLog(() => {
      throw new Error('listener bug');
    });
    expect(() => logger.warn('still logged')).not.toThrow();
    expect(write).toHaveBeenCalledWith(2, expect.stringContaining('still logged'), 'utf8');
  });

  it('records nothing when events are off, and still logs what it reports', () => {
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const events = new AgentEvents(undefined);
    const recorded = vi.fn();
    events.onRecorded = recorded;
    events.report('normal', 'plugin.loaded', 'plugin x loaded');
    expect(info).toHaveBeenCalledWith('plugin x loaded');
    expect(recorded).not.toHaveBeenCalled();
  });
});
