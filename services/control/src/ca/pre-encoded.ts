import { type AsnType, Primitive } from 'asn1js';
import { AsnSerializer, type IAsnConvertible } from '@peculiar/asn1-schema';
import { Extension, Name } from '@peculiar/asn1-x509';
// The errors entry alone: this file runs in the signing workers too, which must not load the whole kit.
import { FlotillaError } from '@flotilla/errors';

// Parts of a leaf that are the same for every certificate of an issuer (its name, the
// CRL/OCSP extensions) or of a service (subject, SAN) are encoded once. asn1-schema asks a
// value that implements IAsnConvertible for its asn1js block instead of walking its
// schema, and a frozen block writes its stored bytes instead of encoding its children.

/**
 * A block with the same tag and content as `block`, whose content is encoded now, once:
 * asn1js writes it back byte for byte (tag and length are still asn1js's own encoding).
 */
export function frozenBlock(block: AsnType): AsnType {
  const frozen = new Primitive({
    idBlock: { tagClass: block.idBlock.tagClass, tagNumber: block.idBlock.tagNumber },
    valueHex: block.valueBlock.toBER(false),
  });
  // Primitive clears the constructed bit in its constructor; a SEQUENCE needs it back.
  frozen.idBlock.isConstructed = block.idBlock.isConstructed;
  return frozen;
}

/** An extension encoded once. Encode-only. */
export class EncodedExtension extends Extension implements IAsnConvertible {
  readonly #block: AsnType;

  constructor(ext: Extension) {
    super(ext);
    this.#block = frozenBlock(AsnSerializer.toASN(ext));
  }

  toASN(): AsnType {
    return this.#block;
  }

  fromASN(): this {
    throw new FlotillaError('FLT_INTERNAL', 'EncodedExtension is encode-only');
  }

  toSchema(): never {
    throw new FlotillaError('FLT_INTERNAL', 'EncodedExtension is encode-only');
  }
}

/** A distinguished name encoded once. Encode-only. */
export class EncodedName extends Name implements IAsnConvertible {
  readonly #block: AsnType;

  constructor(name: Name) {
    super(name);
    // Name resets the prototype to its own (an Array subclass); keep ours.
    Object.setPrototypeOf(this, EncodedName.prototype);
    this.#block = frozenBlock(AsnSerializer.toASN(name));
  }

  toASN(): AsnType {
    return this.#block;
  }

  fromASN(): this {
    throw new FlotillaError('FLT_INTERNAL', 'EncodedName is encode-only');
  }

  toSchema(): never {
    throw new FlotillaError('FLT_INTERNAL', 'EncodedName is encode-only');
  }
}
