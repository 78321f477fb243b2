// Server mode: one long-lived launcher, one forked runner per request.
//
// Requests arrive on stdin, one per line, fields separated by tabs: "<id>\t<option>\t...\t--\t
// <program>" runs a program, "kill\t<id>" stops one.  Each runner writes its result line on
// stdout.  Forking this small static process costs far less than Python spawning a launcher.
#pragma once

int serve();
