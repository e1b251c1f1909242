// Opening the server's listening ports (the API's, the metrics port), with a taken port reported as what the
// operator can do about it: which flag or variable chooses another.

import type { FastifyInstance } from 'fastify';

/** Which setting chooses a port: named in the message when it is taken. */
export interface PortSetting {
  flag: string;
  envName: string;
}

export const API_PORT: PortSetting = { flag: '--port', envName: 'HOURGLASS_PORT' };
export const METRICS_PORT: PortSetting = { flag: '--metrics-port', envName: 'HOURGLASS_METRICS_PORT' };

export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(
    readonly host: string,
    readonly port: number,
    setting: PortSetting,
  ) {
    super(
      `${host}:${port} is already in use: stop what listens there, or choose another port with ` +
        `${setting.flag} N or ${setting.envName}=N (0 picks a free one)`,
    );
  }
}

/** Listens on host:port and answers the URL it listens on (with the port chosen when `port` is 0). */
export async function listenOn(
  app: FastifyInstance,
  host: string,
  port: number,
  setting: PortSetting,
): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(host, port, setting);
    throw error;
  }
}
