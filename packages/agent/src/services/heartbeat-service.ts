/** What an ext-info provider may return; non-string values are stringified. */
export type ExtInfo = Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>;

/**
 * Called before every beat (a change in what it returns is what makes the next beat a full one);
 * what it returns is sent as the calling plugin's ext-info.
 */
export type ExtInfoProvider = () => ExtInfo;

/**
 * The heartbeat service as plugins see it (Sermant's `HeartbeatService`). Fetch it with
 * `ServiceManager.getService(HeartbeatService)`.
 */
export abstract class HeartbeatService {
  static readonly serviceName = 'vigil.heartbeat';

  /**
   * Sets the calling plugin's ext-info provider; a later call from the same plugin replaces it.
   * A provider that throws costs only its own plugin's ext-info for that beat.
   */
  abstract setExtInfo(provider: ExtInfoProvider): void;
}
