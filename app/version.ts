import { readFileSync } from 'node:fs'
import path from 'node:path'
import { projectDirectory } from './project-directory.js'

const packageJson = JSON.parse(readFileSync(path.join(projectDirectory(), 'package.json'), 'utf8')) as { version: string }

export const version = packageJson.version
