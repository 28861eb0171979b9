/*
 * hvvssd-call SOCKET METHOD [PARAMS_JSON] [--more] [--timeout MS]: calls one
 * io.hypervvss method and prints every reply as one JSON line on stdout.
 * An error reply prints "error NAME PARAMS_JSON" and exits 3; transport
 * trouble exits 2; usage 64.
 * hvvssd-call SOCKET --stall|--garbage SECONDS: a misbehaving client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "varlink-client.h"

static int print_reply(json_object *parameters, bool continues, void *userdata)
{
        (void)continues;
        (void)userdata;
        printf("%s\n", json_object_to_json_string_ext(parameters, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
        return 0;
}

/* --stall SECONDS: connect, send half a call, stall. --garbage: send a malformed message, stall. */
static int misbehave(const char *path, const char *mode, int seconds)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        static const char half[] = "{\"method\":\"io.hypervvss.GetSta";
        static const char garbage[] = "\xff{not json at all";
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("hvvssd-call: connect");
                return 2;
        }
        if (strcmp(mode, "--stall") == 0)
                (void)!write(fd, half, sizeof(half) - 1);
        else
                (void)!write(fd, garbage, sizeof(garbage)); /* with its NUL: one bad message */
        printf("connected\n");
        fflush(stdout);
        sleep((unsigned)seconds);
        close(fd);
        return 0;
}

int main(int argc, char **argv)
{
        struct varlink_client *c = NULL;
        json_object *params = NULL, *reply = NULL;
        char *error = NULL, method[256];
        bool more = false;
        int timeout = 60000, r;
        const char *json = NULL;

        if (argc == 4 && (strcmp(argv[2], "--stall") == 0 || strcmp(argv[2], "--garbage") == 0))
                return misbehave(argv[1], argv[2], atoi(argv[3]));
        if (argc < 3) {
                fprintf(stderr, "usage: hvvssd-call SOCKET METHOD [PARAMS_JSON] [--more] [--timeout MS]\n");
                return 64;
        }
        for (int i = 3; i < argc; i++) {
                if (strcmp(argv[i], "--more") == 0)
                        more = true;
                else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
                        timeout = atoi(argv[++i]);
                else
                        json = argv[i];
        }
        if (json) {
                params = json_tokener_parse(json);
                if (!params) {
                        fprintf(stderr, "hvvssd-call: bad JSON: %s\n", json);
                        return 64;
                }
        }
        snprintf(method, sizeof(method), "%s%s", strchr(argv[2], '.') ? "" : "io.hypervvss.", argv[2]);
        r = varlink_client_connect(&c, argv[1], timeout);
        if (r < 0) {
                fprintf(stderr, "hvvssd-call: connect %s: %s (%s)\n", argv[1], strerror(-r), varlink_client_strerror(r));
                printf("connect-error %s\n", strerror(-r));
                return 2;
        }
        if (more)
                r = varlink_client_call_more(c, method, params, print_reply, NULL, &reply, &error);
        else
                r = varlink_client_call(c, method, params, &reply, &error);
        if (r == VARLINK_CLIENT_E_ERROR) {
                printf("error %s %s\n", error,
                       reply ? json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "{}");
                r = 3;
        } else if (r < 0) {
                fprintf(stderr, "hvvssd-call: %s: %s\n", method, strerror(-r));
                r = 2;
        } else {
                if (!more)
                        print_reply(reply, false, NULL);
                r = 0;
        }
        json_object_put(reply);
        json_object_put(params);
        free(error);
        varlink_client_free(c);
        return r;
}
