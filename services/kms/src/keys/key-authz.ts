import { FlotillaError, type PolicyDecider, serviceMay } from '@flotilla/kit';

/** The Cedar actions on `Key::"<name>"` (policies/schema.cedarschema). */
export type KeyAction =
  | 'kms:Encrypt'
  | 'kms:Decrypt'
  | 'kms:GenerateDataKey'
  | 'kms:ReEncrypt'
  | 'kms:CreateKey'
  | 'kms:DescribeKey'
  | 'kms:ListKeys'
  | 'kms:Rotate'
  | 'kms:Disable'
  | 'kms:Enable'
  | 'kms:ScheduleDeletion'
  | 'kms:CancelDeletion'
  | 'kms:SetMinDecryptionVersion'
  | 'kms:ViewUsage';

/** Who is calling: the service in the client certificate. */
export interface Caller {
  /** The service name (`Service::"<name>"`). */
  service: string;
  /** Its SPIFFE ID, as usage records name it. */
  id: string;
}

/**
 * The real gate of the KMS. The kit's endpoint check lets any fleet service reach the
 * KMS's routes (`policies/kms.cedar`, `svc-fleet-kms-api`); here every call is decided on
 * the key itself: may `Service::"<caller>"` do `kms:<Action>` on `Key::"<name>"`? Default
 * deny, and no policy engine (no workload identity) denies everything.
 */
export class KeyAuthz {
  constructor(private readonly policy: () => PolicyDecider | undefined) {}

  allows(caller: Caller, action: KeyAction, key: string): boolean {
    return serviceMay(this.policy(), { service: caller.service, spiffeId: caller.id }, action, {
      type: 'Key',
      id: key,
    });
  }

  require(caller: Caller, action: KeyAction, key: string): void {
    if (!this.allows(caller, action, key))
      throw new FlotillaError('FLT_POLICY_DENIED', `${caller.service} may not ${action} on key ${key}`);
  }
}
