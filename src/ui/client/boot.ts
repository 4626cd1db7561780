/** Evaluated before the app: asks for the first page's data at once (see first-data.ts). */
import {startFirstRequests} from './first-data.js'

startFirstRequests(location.hash)
