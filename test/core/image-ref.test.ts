import { describe, expect, it } from '@jest/globals';
import {
  assertDigest,
  formatImageRef,
  imageByDigest,
  digestProblem,
  isPlainHttpRegistry,
  parseImageRef,
  registryBaseUrl,
  registryProblem,
  repositoryProblem,
} from '../../src/core/image-ref.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageRef', () => {
  it.each([
    ['ubuntu', { registry: 'docker.io', repository: 'library/ubuntu' }],
    ['ubuntu:22.04', { registry: 'docker.io', repository: 'library/ubuntu', tag: '22.04' }],
    ['kserve/sklearnserver:v0.14', { registry: 'docker.io', repository: 'kserve/sklearnserver', tag: 'v0.14' }],
    ['index.docker.io/library/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['localhost:5000/x', { registry: 'localhost:5000', repository: 'x' }],
    ['localhost/x:1', { registry: 'localhost', repository: 'x', tag: '1' }],
    ['127.0.0.1:5000/models/churn:v2', { registry: '127.0.0.1:5000', repository: 'models/churn', tag: 'v2' }],
    [
      'myacr.azurecr.io/models/churn@' + DIGEST,
      { registry: 'myacr.azurecr.io', repository: 'models/churn', digest: DIGEST },
    ],
    [
      'myacr.azurecr.io/churn:v1@' + DIGEST,
      { registry: 'myacr.azurecr.io', repository: 'churn', tag: 'v1', digest: DIGEST },
    ],
    ['[::1]:5000/a/b', { registry: '[::1]:5000', repository: 'a/b' }],
  ])('%s', (reference, expected) => {
    expect(parseImageRef(reference)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['Upper/Case', "repository 'Upper/Case'"],
    ['x@sha256:123', "'sha256:123' is not a sha256 digest"],
    ['x:bad tag', "tag 'bad tag' is not valid"],
    ['reg.io/x:-tag', "tag '-tag'"],
  ])('rejects %j naming the problem', (reference, message) => {
    expect(() => parseImageRef(reference)).toThrow(message);
  });
});

describe('problems, each saying what is wrong', () => {
  it.each([
    ['myacr.azurecr.io', undefined],
    ['localhost:5000', undefined],
    ['[::1]:5000', undefined],
    ['https://myacr.azurecr.io', 'drop the https://'],
    ['myacr.azurecr.io/models', 'has no path'],
    ['r.io:70000', 'port 70000'],
    ['my registry', "'my registry' is not a host name"],
  ])('registry %j', (registry, problem) => {
    if (problem === undefined) expect(registryProblem(registry)).toBeUndefined();
    else expect(registryProblem(registry)).toContain(problem);
  });

  it.each([
    ['models/churn', undefined],
    ['a__b/c-d.e', undefined],
    ['Models/Churn', "'Models' has uppercase letters"],
    ['models//churn', 'empty path component'],
    ['models/churn!', "'churn!' is not a valid path component"],
  ])('repository %j', (repository, problem) => {
    if (problem === undefined) expect(repositoryProblem(repository)).toBeUndefined();
    else expect(repositoryProblem(repository)).toContain(problem);
  });

  it.each([
    [DIGEST, undefined],
    ['sha256:abc', '64 hex digits, got 3'],
    [`sha512:${'a'.repeat(128)}`, "algorithm 'sha512' is not supported"],
    [`sha256:${'A'.repeat(64)}`, 'lowercase hex'],
    ['abc', 'expected sha256:'],
  ])('digest %j', (digest, problem) => {
    if (problem === undefined) expect(digestProblem(digest)).toBeUndefined();
    else expect(digestProblem(digest)).toContain(problem);
  });
});

describe('formatting', () => {
  it.each([
    [{ registry: 'r.io', repository: 'a' }, 'r.io/a:latest'],
    [{ registry: 'r.io', repository: 'a', tag: 'v1' }, 'r.io/a:v1'],
    [{ registry: 'r.io', repository: 'a', tag: 'v1', digest: DIGEST }, `r.io/a@${DIGEST}`],
  ])('%j -> %s', (ref, text) => {
    expect(formatImageRef(ref)).toBe(text);
  });

  it('round-trips what it formats', () => {
    const text = imageByDigest('127.0.0.1:5000', 'models/churn', DIGEST);
    expect(formatImageRef(parseImageRef(text))).toBe(text);
  });

  it('refuses a bad digest', () => {
    expect(() => imageByDigest('r.io', 'a', 'sha256:xyz')).toThrow("'sha256:xyz' is not a sha256 digest");
    expect(() => assertDigest('md5:00', 'layer digest')).toThrow("layer digest 'md5:00'");
  });
});

describe('transport', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1:41234', true],
    ['[::1]:5000', true],
    ['[::1]', true],
    ['myacr.azurecr.io', false],
    ['localhost.example.com', false],
    ['127.0.0.2:5000', false],
    ['10.0.0.1:5000', false],
  ])('%s plain http: %s', (host, plain) => {
    expect(isPlainHttpRegistry(host)).toBe(plain);
  });

  it.each([
    ['docker.io', 'https://registry-1.docker.io'],
    ['myacr.azurecr.io', 'https://myacr.azurecr.io'],
    ['127.0.0.1:5000', 'http://127.0.0.1:5000'],
  ])('%s -> %s', (registry, url) => {
    expect(registryBaseUrl(registry)).toBe(url);
  });
});
