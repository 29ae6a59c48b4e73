// GitLab CI: the same two jobs as the GitHub workflow. Written as .gitlab-ci.yml, or, when the project
// already has one, as .gitlab/ferry.gitlab-ci.yml to `include:` (so it sets no `default:` and no
// `stages:` of its own: both jobs run in the standard deploy stage, ordered by `needs`).
import { type CiInput, installCommand, lockFile, OSS_NOTE, secretLines } from './secrets';

export const GITLAB_CI_PATH = '.gitlab-ci.yml';
export const GITLAB_INCLUDE_PATH = '.gitlab/ferry.gitlab-ci.yml';

/** GitLab masks only one-line values, so the PEM keys travel as File-type variables (…_FILE). */
const gitlabName = (name: string) =>
  name === 'FERRY_SIGNING_KEY' || name === 'FERRY_SSH_KEY' ? `${name}_FILE (File type)` : name;

export function gitlabCi(i: CiInput): string {
  const deploy = i.deployEnv
    ? `
ferry-deploy:
  extends: .ferry-node
  stage: deploy
  needs: [ferry-publish]
  rules:
    - if: $CI_COMMIT_TAG =~ /^v/
  environment: ${i.deployEnv}
  # One rollout at a time; Ferry's own environment lock would refuse a second one anyway.
  resource_group: ferry-${i.deployEnv}
  script:
    - test -d node_modules/.bin || ${installCommand(i)}
    - npx ferry deploy ${i.deployEnv} --version "$FERRY_VERSION"
`
    : '';
  return `# Ferry: publish a signed release of ${i.name} on every push to the default branch and every v* tag${i.deployEnv ? `; deploy it to ${i.deployEnv} on tags` : ''}.
# Written by \`ferry init\`; docs/init.md in Ferry explains each step.
${secretLines(i, 'Settings > CI/CD > Variables, protected', (s) => gitlabName(s.name)).join('\n')}
${OSS_NOTE.join('\n')}

.ferry-node:
  image: node:${i.nodeMajor}
  variables:
    npm_config_cache: $CI_PROJECT_DIR/.npm
  # node_modules is restored whenever ${lockFile(i)} is unchanged, and then not installed again.
  cache:
    key:
      files: [${lockFile(i)}]
      prefix: ferry-node${i.nodeMajor}
    paths: [node_modules/, .npm/]

ferry-publish:
  extends: .ferry-node
  stage: deploy
  rules:
    - if: $CI_COMMIT_TAG =~ /^v/
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  script:
    - test -d node_modules/.bin || ${installCommand(i)}
    - npx ferry publish --json > ferry-publish.json
    - FERRY_VERSION=$(node -p "require('./ferry-publish.json').version")
    - echo "FERRY_VERSION=$FERRY_VERSION" > ferry.env
  artifacts:
    reports:
      dotenv: ferry.env
${deploy}`;
}
