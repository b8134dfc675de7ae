from sclle_nb.cli import main
raise SystemExit(main())
