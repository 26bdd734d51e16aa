/**
 * This broker's session with the active controller (KIP-631): join the Raft log as an observer
 * when the node is not a voter, register (the broker starts fenced), then heartbeat every
 * broker.heartbeat.interval.ms with the metadata offset applied here. The controller unfences
 * the broker once that offset reaches its registration; a broker that stops heartbeating is
 * fenced after broker.session.timeout.ms. On a controlled shutdown the heartbeats ask to shut
 * down until the controller has moved every leadership away.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { limits } from '../config/index.js';
import { BrokerError } from '../errors/index.js';
import type {
  BrokerHeartbeatResponse__Output,
  RegisterBrokerResponse__Output,
} from '../proto/index.js';
import { ControllerLease } from './controller-lease.js';
import type { PeerClients } from './peer-clients.js';

export interface BrokerSessionOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  readonly peers: PeerClients;
  /** Addresses to try for the controller, best guess first (the Raft leader, then voters). */
  readonly controllerCandidates: () => readonly string[];
  /** Whether this node is a Raft member (voter or observer) yet. */
  readonly isRaftMember: () => boolean;
  /** Whether this node is a Raft voter (voters never need to ask to join). */
  readonly isRaftVoter: () => boolean;
  /** This node's advertised host:port, for the observer request. */
  readonly address: string;
  readonly metadataOffset: () => number;
  readonly heartbeatIntervalMs: number;
  /**
   * broker.session.timeout.ms: a controlled shutdown stops waiting after no controller answered
   * for this long, and it is the length of this broker's controller lease.
   */
  readonly controllerUnreachableMs: number;
  readonly onUnfenced: () => void;
  /** The controller fenced this broker while it was in service (not a shutdown). */
  readonly onFenced: () => void;
  readonly logger: Logger;
}

export class BrokerSession {
  private epoch = 0;
  private fenced = true;
  private readonly incarnationId = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private isBusy = false;
  private wantShutDown = false;
  private shouldShutDown = false;
  private hintedController: string | null = null;
  private isClosed = false;
  private readonly lease: ControllerLease;

  constructor(private readonly options: BrokerSessionOptions) {
    this.lease = new ControllerLease(options.controllerUnreachableMs);
  }

  /** The epoch of this broker's registration; 0 before it registered. */
  get brokerEpoch(): number {
    return this.epoch;
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  /**
   * Whether the controller has, recently enough, confirmed that this broker is in service and that
   * every leadership moved away from it is in the metadata it applied (see ControllerLease).
   */
  holdsLease(): boolean {
    return this.lease.isHeld(performance.now(), this.options.metadataOffset());
  }

  start(): void {
    this.timer = setInterval(() => this.beat(), this.options.heartbeatIntervalMs);
    this.beat();
  }

  /**
   * Controlled shutdown: heartbeats ask to shut down until the controller answers that this
   * broker leads nothing another replica could lead, bounded by `timeoutMs`. Resolves true when
   * the controller agreed.
   */
  async shutdown(timeoutMs: number): Promise<boolean> {
    if (this.epoch === 0) return true;
    this.wantShutDown = true;
    const deadline = Date.now() + timeoutMs;
    let lastAnsweredMs = Date.now();
    while (!this.shouldShutDown && Date.now() < deadline && !this.isClosed) {
      try {
        await this.beatOnce();
        lastAnsweredMs = Date.now();
      } catch (error) {
        // No controller (the rest of the cluster is stopping too, or no quorum): nobody can
        // move leaderships now, so waiting longer only delays the stop.
        if (Date.now() - lastAnsweredMs >= this.options.controllerUnreachableMs) {
          this.options.logger.warn(
            { err: error },
            'no controller answered during the controlled shutdown; stopping without it',
          );
          return false;
        }
      }
      if (!this.shouldShutDown) await sleep(Math.min(100, this.options.heartbeatIntervalMs));
    }
    return this.shouldShutDown;
  }

  close(): void {
    this.isClosed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private beat(): void {
    if (this.isBusy || this.isClosed || this.wantShutDown) return;
    this.isBusy = true;
    this.beatOnce()
      .catch((error: unknown) => {
        if (error instanceof BrokerError && error.leader !== null) {
          this.hintedController = error.leader.address;
        }
        this.options.logger.debug({ err: error }, 'controller call failed; retrying');
      })
      .finally(() => {
        this.isBusy = false;
      });
  }

  private async beatOnce(): Promise<void> {
    if (!this.options.isRaftMember()) {
      await this.joinAsObserver();
      return;
    }
    if (this.epoch === 0) {
      // A non-voter confirms its observer seat with the controller before every registration,
      // not only when its own log says it has none: a broker unregistered (and so removed from
      // the observers) and then started again on its old volume still finds itself in its
      // stored membership, and the leader would never send it the metadata it needs to be
      // unfenced. The controller answers at once when the seat is there.
      if (!this.options.isRaftVoter()) await this.joinAsObserver();
      await this.register();
      return;
    }
    const sentAtMs = performance.now();
    const answer = await this.callController<BrokerHeartbeatResponse__Output>('BrokerHeartbeat', {
      brokerId: this.options.nodeId,
      brokerEpoch: this.epoch,
      metadataOffset: this.options.metadataOffset(),
      wantShutDown: this.wantShutDown,
    });
    if (answer.errorCode === 'STALE_BROKER_EPOCH') {
      this.options.logger.warn(
        { brokerEpoch: this.epoch },
        'registration superseded; registering again',
      );
      this.epoch = 0;
      this.fenced = true;
      this.lease.revoke();
      return;
    }
    this.shouldShutDown = answer.shouldShutDown;
    const wasFenced = this.fenced;
    this.fenced = answer.isFenced;
    if (answer.isFenced) this.lease.revoke();
    else this.lease.renew(sentAtMs, answer.metadataOffset, this.options.metadataOffset());
    if (wasFenced && !this.fenced) {
      this.options.logger.info({ brokerEpoch: this.epoch }, 'unfenced: this broker is in service');
      this.options.onUnfenced();
    } else if (!wasFenced && this.fenced && !this.wantShutDown) {
      this.options.logger.warn(
        { brokerEpoch: this.epoch },
        'the controller fenced this broker (its session expired); leaving every partition role until it is unfenced',
      );
      this.options.onFenced();
    }
  }

  private async register(): Promise<void> {
    const answer = await this.callController<RegisterBrokerResponse__Output>('RegisterBroker', {
      brokerId: this.options.nodeId,
      incarnationId: this.incarnationId,
      host: this.options.host,
      port: this.options.port,
      rack: this.options.rack,
      clusterId: this.options.clusterId,
    });
    if (answer.errorCode !== 'NONE') {
      this.options.logger.error(
        { errorCode: answer.errorCode, message: answer.errorMessage },
        'the controller refused to register this broker',
      );
      return;
    }
    this.epoch = answer.brokerEpoch;
    this.options.logger.info({ brokerEpoch: this.epoch }, 'registered with the controller');
  }

  private async joinAsObserver(): Promise<void> {
    await this.callController('AddRaftObserver', {
      nodeId: this.options.nodeId,
      address: this.options.address,
      clusterId: this.options.clusterId,
    });
    this.options.logger.info({}, 'asked to follow the metadata log as a Raft observer');
  }

  /**
   * One controller call's deadline: well inside the session timeout, so a controller that
   * hangs (stopped, cut off) costs this broker a retry at the next candidate, not its session.
   */
  private callDeadlineMs(): number {
    return Math.max(
      50,
      Math.min(limits.peerCallTimeoutMs, this.options.controllerUnreachableMs / 3),
    );
  }

  /** Tries the hinted controller, then each candidate, until one answers as the controller. */
  async callController<Res>(method: string, request: object): Promise<Res> {
    const candidates = [
      ...(this.hintedController === null ? [] : [this.hintedController]),
      ...this.options.controllerCandidates(),
    ];
    let lastError: unknown = new Error('no controller address known yet');
    for (const address of new Set(candidates)) {
      try {
        const answer = await this.options.peers.call<Res>(
          'BrokerLifecycle',
          address,
          method,
          request,
          { deadlineMs: this.callDeadlineMs() },
        );
        this.hintedController = address;
        return answer;
      } catch (error) {
        lastError = error;
        if (error instanceof BrokerError && error.leader !== null) {
          this.hintedController = error.leader.address;
        }
      }
    }
    throw lastError;
  }
}
