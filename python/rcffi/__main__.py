"""Command line of rcffi: ``python -m rcffi COMMAND``.

  install-as-cffi     make this environment's cffi be rcffi (every
                      interpreter of it, subprocesses and embedded ones too)
  uninstall-as-cffi   remove exactly what install-as-cffi wrote
  status              say whether cffi here is rcffi, upstream, or absent
  version             print rcffi's version and the cffi version it implements
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m rcffi',
        description="rcffi: CFFI on a Rust core.")
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    target_help = ("site-packages directory to act on (default: the purelib "
                   "directory of this interpreter's environment)")
    p = sub.add_parser('install-as-cffi',
                       help="make this environment's cffi be rcffi")
    p.add_argument('--target', help=target_help)
    p = sub.add_parser('uninstall-as-cffi',
                       help="remove what install-as-cffi wrote")
    p.add_argument('--target', help=target_help)
    p = sub.add_parser('status', help="is cffi here rcffi, upstream or absent?")
    p.add_argument('--target', help=target_help)
    sub.add_parser('version', help="print the versions")
    args = parser.parse_args(argv)

    if args.command is None:
        parser.print_help()
        return 2
    if args.command == 'version':
        import rcffi
        print("rcffi %s (implements cffi %s)"
              % (rcffi.__version__, rcffi.__cffi_version__))
        return 0

    from . import _envinstall
    try:
        if args.command == 'install-as-cffi':
            _envinstall.install(args.target)
        elif args.command == 'uninstall-as-cffi':
            _envinstall.uninstall(args.target)
        elif args.command == 'status':
            target = args.target or _envinstall.default_target()
            state, details = _envinstall.status(target)
            if state == 'rcffi':
                print("cffi in %s is rcffi %s" % (
                    target, details.get('rcffi_version', '?')))
            elif state == 'upstream':
                print("cffi in %s is not rcffi's:\n  %s"
                      % (target, '\n  '.join(details)))
            else:
                print("no cffi in %s" % (target,))
    except _envinstall.InstallError as e:
        sys.stderr.write("python -m rcffi %s: error: %s\n" % (args.command, e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
