import { type XmlNode, xmlDocument } from './xml';

/** A response the server sends; handlers build these, the core writes them. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body?: Buffer;
  /** The body is object data (GetObject): reset and corrupt faults may act on it. */
  objectData?: boolean;
  /** OSS error code, for the request log. */
  code?: string;
}

/** An OSS error: codes and messages are the ones OSS documents, so client error handling is exercised. */
export class OssError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const errors = {
  noSuchBucket: (bucket: string) =>
    new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket }),
  noSuchKey: (key: string) =>
    new OssError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key }),
  noSuchUpload: (uploadId: string) =>
    new OssError(
      404,
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    ),
  invalidDigest: (provided: string) =>
    new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.', {
      'Content-MD5': provided,
    }),
  invalidObjectName: (key: string) =>
    new OssError(400, 'InvalidObjectName', 'The specified object is not valid.', { ObjectName: key }),
  fileAlreadyExists: () =>
    new OssError(
      409,
      'FileAlreadyExists',
      'The object you specified already exists and can not be overwritten.',
    ),
  invalidRange: (range: string, size: number) =>
    new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied', {
      RangeRequested: range,
      ActualObjectSize: String(size),
    }),
  malformedXml: () =>
    new OssError(
      400,
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
    ),
  invalidArgument: (message: string, name: string, value: string) =>
    new OssError(400, 'InvalidArgument', message, { ArgumentName: name, ArgumentValue: value }),
  missingArgument: (name: string) =>
    new OssError(400, 'MissingArgument', 'Missing Some Required Arguments.', { ArgumentName: name }),
  notImplemented: (what: string) =>
    new OssError(501, 'NotImplemented', `The OSS test server does not implement ${what}.`),
  methodNotAllowed: (method: string) =>
    new OssError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', {
      Method: method,
    }),
  accessDenied: (message: string, extra: Record<string, string> = {}) =>
    new OssError(403, 'AccessDenied', message, extra),
  invalidAccessKeyId: (accessKeyId: string, message?: string) =>
    new OssError(
      403,
      'InvalidAccessKeyId',
      message ?? 'The OSS Access Key Id you provided does not exist in our records.',
      { OSSAccessKeyId: accessKeyId },
    ),
  securityTokenExpired: () =>
    new OssError(403, 'SecurityTokenExpired', 'The security token you provided has expired.'),
  signatureDoesNotMatch: (accessKeyId: string, provided: string, stringToSign: string) =>
    new OssError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        OSSAccessKeyId: accessKeyId,
        SignatureProvided: provided,
        StringToSign: stringToSign,
        // OSS adds the bytes so a client can spot encoding differences (e.g. non-ASCII keys).
        StringToSignBytes: [...Buffer.from(stringToSign, 'utf8')]
          .map((b) => b.toString(16).padStart(2, '0'))
          .join(' '),
      },
    ),
  requestTimeTooSkewed: (requestTime: string, serverTime: string) =>
    new OssError(
      403,
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      {
        RequestTime: requestTime,
        ServerTime: serverTime,
      },
    ),
  entityTooSmall: () =>
    new OssError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.'),
  invalidPart: () =>
    new OssError(
      400,
      'InvalidPart',
      "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
    ),
  invalidPartOrder: () =>
    new OssError(
      400,
      'InvalidPartOrder',
      'The list of parts was not in ascending order. Parts list must specified in order by part number.',
    ),
  preconditionFailed: (condition: string) =>
    new OssError(
      412,
      'PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold.',
      {
        Condition: condition,
      },
    ),
};

const CODE_BY_STATUS: Record<number, [string, string]> = {
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  502: ['BadGateway', 'The gateway received an invalid response from the upstream server.'],
  503: ['ServiceUnavailable', 'Please reduce your request rate.'],
  504: ['GatewayTimeout', 'The gateway timed out.'],
};

/** The error a failure fault answers with, shaped like the real one for that status. */
export function injectedError(status: number, code?: string, message?: string): OssError {
  const known = CODE_BY_STATUS[status];
  return new OssError(
    status,
    code ?? known?.[0] ?? 'InjectedFault',
    message ?? known?.[1] ?? 'Injected fault.',
  );
}

export function errorXml(e: OssError, requestId: string, hostId: string): Buffer {
  const node: XmlNode = {
    Code: e.code,
    Message: e.message,
    RequestId: requestId,
    HostId: hostId,
    ...e.extra,
  };
  return xmlDocument('Error', node);
}

export function errorReply(e: OssError, requestId: string, hostId: string, method: string): Reply {
  const xml = errorXml(e, requestId, hostId);
  if (method === 'HEAD') {
    // HEAD responses carry no body, so OSS puts the error document, base64, in x-oss-err;
    // ali-oss decodes it to report the real code (except for 404/412, which it names itself).
    return {
      status: e.status,
      code: e.code,
      headers: {
        'content-type': 'application/xml',
        'x-oss-err': xml.toString('base64'),
        'content-length': '0',
      },
    };
  }
  return { status: e.status, code: e.code, headers: { 'content-type': 'application/xml' }, body: xml };
}
